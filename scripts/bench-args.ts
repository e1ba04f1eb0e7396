/**
 * Command-line numbers of the benchmark scripts: `--name 123`, or the
 * environment variable `BENCH_NAME` (dashes as underscores), else the default.
 */

/** A positive integer option; throws with the option's name for anything else. */
export function intArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
}
