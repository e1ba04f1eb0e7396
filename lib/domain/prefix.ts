/**
 * The key prefix check: what a prefix may look like, and the one message that
 * says so, whoever asks (`configure()`, a worker's store, the CLI's
 * `--prefix`). Each caller throws its own error type with {@link prefixProblem}'s text.
 *
 * Why lib/domain: the prefix is a tenant/environment name chosen by the user;
 * the runtime and the CLI check it before anything touches Redis, and the key
 * builder (lib/redis/keys.ts) checks it again. lib/redis is below lib/runtime
 * and the adapters may not import lib/redis, so the rule lives on the bottom
 * floor, beside lib/errors, and imports nothing.
 */

const PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Checks a key prefix: 1-64 letters, digits and `_ . : -`, starting with a letter or digit, no braces (the hash tag is added for you). */
export function isValidPrefix(prefix: unknown): prefix is string {
  return typeof prefix === 'string' && PREFIX_RE.test(prefix);
}

/** What is wrong with `prefix`, as the message to show, or undefined when it is valid. */
export function prefixProblem(prefix: unknown): string | undefined {
  if (isValidPrefix(prefix)) return undefined;
  return `Invalid prefix ${JSON.stringify(prefix)}: use 1-64 letters, digits, '_', '.', ':' or '-' (no braces; the hash tag is added for you).`;
}
