/** Reading request parameters into strings and numbers, with 400s (InvalidArgumentError) for bad ones. */
import type { Request } from 'express';
import { InvalidArgumentError } from '../../errors/errors.js';

/** A single string query parameter (`?a=1&a=2` and `?a[b]=1` are rejected). */
export function queryString(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`Query parameter "${name}" must be given once, as a string.`);
  return v;
}

/** An integer query parameter from 1 to `max` (`dflt` when absent). */
export function queryInt(req: Request, name: string, dflt: number, max: number): number {
  const raw = queryString(req, name);
  if (raw === undefined) return dflt;
  const n = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`Query parameter "${name}" must be an integer from 1 to ${max}.`);
  return n;
}

/** A route parameter as one string (Express types allow arrays for wildcard parameters). */
export function routeParam(req: Request, name: string): string {
  const v = (req.params as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v.join('/') : (v ?? '');
}
