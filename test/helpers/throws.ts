/** What a synchronous call throws, for tests that inspect the error (fails the test when it does not throw). */
export function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to throw');
}
