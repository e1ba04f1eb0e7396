// Removes dist/, so that `npm pack` (prepack: clean, then build) never ships
// the output of a source file that no longer exists.
import { rmSync } from 'node:fs';
import { URL } from 'node:url';
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
