// Writes a CommonJS-flavoured copy (.d.cts) of every declaration file in dist/,
// for the exports map's `require` condition. The JavaScript is the same ESM for
// both conditions (Node >= 20.19 require()s it: one module instance per
// process); only the declarations differ. Why: TypeScript checks a CommonJS
// consumer's `require` of an ESM declaration as an error (TS1479) under
// `module: node16` (and nodenext before TS 5.8), so that consumer needs
// declarations TypeScript reads as CommonJS — and so do their relative imports,
// hence the whole tree, with './x.js' rewritten to './x.cjs' (→ x.d.cts).
// See docs/PACKAGING.md.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
// Relative specifiers of `from '…'`, `import('…')` and `import '…'`.
const RELATIVE_JS = /((?:\bfrom|\bimport\s*\(|\bimport)\s*)(['"])(\.{1,2}\/[^'"]*?)\.js\2/g;

let count = 0;
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const file = join(entry.parentPath ?? entry.path, entry.name);
  const text = readFileSync(file, 'utf8').replace(RELATIVE_JS, (_m, lead, q, path) => `${lead}${q}${path}.cjs${q}`);
  writeFileSync(file.slice(0, -'.d.ts'.length) + '.d.cts', text);
  count++;
}
if (count === 0) throw new Error('emit-cjs-types: no .d.ts under dist/ (run tsc first)');
