/** Reading request parameters into strings and numbers, with 400s (InvalidArgumentError) for bad ones. */
import type { Request } from 'express';
import { InvalidArgumentError } from '../../errors/errors.js';
import { checkLimit } from '../../runtime/validate.js';

/** A single string query parameter (`?a=1&a=2` and `?a[b]=1` are rejected). */
export function queryString(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`Query parameter "${name}" must be given once, as a string.`);
  return v;
}

/** An integer query parameter from 1 to `max` (`dflt` when absent), in plain decimal digits. */
export function queryInt(req: Request, name: string, dflt: number, max: number): number {
  const raw = queryString(req, name);
  if (raw === undefined) return dflt;
  // Digits only: Number() would also take '1e3', '0x10', ' 7' and '+7'.
  return checkLimit(/^\d{1,7}$/.test(raw) ? Number(raw) : NaN, max, dflt, `Query parameter "${name}"`);
}

/** A route parameter as one string (Express types allow arrays for wildcard parameters). */
export function routeParam(req: Request, name: string): string {
  const v = (req.params as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v.join('/') : (v ?? '');
}
