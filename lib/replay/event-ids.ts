/**
 * Order of stream ids (`ms-seq`) as Redis orders them, without allocating:
 * replay compares the id of every event it is fed with its cursor.
 */

/** Compares two decimal digit strings (no leading zeros) by value. */
function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two stream ids (`ms-seq`) without allocating (this runs for every event fed). */
export function compareEventIds(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a.indexOf('-');
  const ib = b.indexOf('-');
  return compareDigits(a.slice(0, ia), b.slice(0, ib)) || compareDigits(a.slice(ia + 1), b.slice(ib + 1));
}
