/** Reads a ReadableStream to its end; `onChunk` sees each chunk as it arrives. */
export async function readAll<T>(stream: ReadableStream<T>, onChunk?: (c: T, n: number) => void): Promise<T[]> {
  const out: T[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
    onChunk?.(value, out.length);
  }
}
