/**
 * Plain-text formatting for the terminal: aligned tables, durations, times,
 * and short previews of values. No colours, so output pipes cleanly.
 */
import { InvalidArgumentError as InvalidOptionArgument } from 'commander';
import { toJsonSafe } from '../inspect/json-safe.js';

/** Renders rows under a header, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `850ms`, `1.2s`, `3m 05s`, `2h 03m`, `4d 01h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** An offset from a reference time: `+0ms`, `+1.20s`, `+3m 05s`. */
export function formatOffset(atMs: number, fromMs: number): string {
  const d = atMs - fromMs;
  return d < 0 ? `-${formatDuration(-d)}` : `+${formatDuration(d)}`;
}

/** A time as `YYYY-MM-DD HH:MM:SS.mmm` in UTC (sortable, unambiguous). */
export function formatTime(d: Date | string | number | undefined): string {
  if (d === undefined) return '-';
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) return '-';
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** A value as one line of JSON, cut to `max` characters. */
export function preview(value: unknown, max = 200): string {
  let text: string;
  try {
    text = JSON.stringify(toJsonSafe(value)) ?? 'undefined';
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Prints a JSON document (pretty, plain JSON: Dates as ISO strings, BigInts as strings). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(toJsonSafe(value), null, 2)}\n`);
}

/** Prints text followed by a newline. */
export function println(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** Parses a positive integer option (commander passes strings). */
export function parsePositiveInt(name: string, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > max) {
      // commander turns this into "error: option '...' argument '...' is invalid. <message>"
      throw new InvalidOptionArgument(`${name} must be an integer from 1 to ${max}.`);
    }
    return n;
  };
}

/** Bytes for people: 812 B, 14.2 KiB, 3.1 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
