/**
 * No import circle among the files of lib/, type-only imports included: a
 * type-only circle costs nothing at run time, but it says two files know each
 * other, which the layering forbids as much as a value import would.
 *
 * The specifiers of every .ts file under lib/ (`import`, `import type`,
 * `export … from`, side-effect imports, `import()` of a literal) are read with
 * the TypeScript scanner (`ts.preProcessFile`), the relative ones resolved to files, and the
 * strongly connected components of the graph found (Tarjan). Each component of
 * more than one file, or a file importing itself, is a circle; the test prints
 * each one with a path around it.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Circles tolerated for now, each as the exact set of its files (a circle
 * that grows, or a new one, fails). Delete an entry once its circle is gone:
 * the test fails on an entry that no longer matches a circle.
 */
const ALLOWED: Array<{ files: string[]; why: string }> = [];

/** The module specifiers a source file names: imports, type imports, re-exports, import() of a literal. */
function specifiersOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** The file a relative specifier of `from` names (ESM `.js` → `.ts`, or an extensionless path), or undefined. */
function resolveSpecifier(from: string, spec: string, exists: (file: string) => boolean): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`, base];
  return candidates.find((c) => c.endsWith('.ts') && exists(c));
}

/** The import graph of `sources` (path → text, posix paths): file → files it imports, and the relative specifiers that name no file. */
function importGraph(sources: Map<string, string>): { graph: Map<string, string[]>; unresolved: string[] } {
  const graph = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const [file, text] of sources) {
    const deps = new Set<string>();
    for (const spec of specifiersOf(text)) {
      if (!spec.startsWith('.')) continue; // a package
      const target = resolveSpecifier(file, spec, (f) => sources.has(f));
      if (target) deps.add(target);
      else unresolved.push(`${file}: ${spec}`);
    }
    graph.set(file, [...deps].sort());
  }
  return { graph, unresolved };
}

/** The circles of `graph`: its strongly connected components of two files or more, and files importing themselves (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** One way around a circle: the shortest path from `start` (its first file by default) back to it, inside the circle (BFS). */
function pathAround(graph: Map<string, string[]>, circle: string[], start = circle[0]!): string[] {
  const inCircle = new Set(circle);
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!inCircle.has(w)) continue;
      if (w === start) {
        const route = [start];
        for (let at: string | undefined = v; at !== undefined && at !== start; at = cameFrom.get(at)) route.splice(1, 0, at);
        return [...route, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return circle;
}

/** A loop `[a, b, c, a]` started at its smallest file, so the same loop prints the same way. */
function rotateToSmallest(loop: string[]): string[] {
  const ring = loop.slice(0, -1);
  const at = ring.indexOf([...ring].sort()[0]!);
  const turned = [...ring.slice(at), ...ring.slice(0, at)];
  return [...turned, turned[0]!];
}

/** Every .ts file of lib/, by its posix path from the repository root. */
function libSources(): Map<string, string> {
  const sources = new Map<string, string>();
  for (const rel of fs.readdirSync(path.join(repoRoot, 'lib'), { recursive: true }) as string[]) {
    if (!rel.endsWith('.ts')) continue;
    const file = path.posix.join('lib', rel.split(path.sep).join('/'));
    sources.set(file, fs.readFileSync(path.join(repoRoot, file), 'utf8'));
  }
  return sources;
}

const same = (a: string[], b: string[]) => a.length === b.length && [...a].sort().every((f, i) => f === [...b].sort()[i]);

describe('lint: no import circle among lib/ files (type-only imports included)', () => {
  it('the scanner sees every kind of import and finds a type-only circle', () => {
    const sources = new Map([
      ['lib/a.ts', "import {\n  b,\n  type B,\n} from './b.js';\nimport 'node:fs';\nimport ms from 'ms';\nexport const a = [b, ms];"],
      ['lib/b.ts', "import type { C } from './sub/c.js';\nexport const b = 1;\nexport type B = C;"],
      ['lib/sub/c.ts', "export type { A } from '../a.js';\nexport * from '../d.js';\nexport type C = number;"],
      ['lib/d.ts', "export const load = () => import('./e.js');"],
      ['lib/e.ts', "import './d.js';"],
      ['lib/f.ts', "import type { F } from './f.js';\nexport type G = F;"],
      ['lib/g.ts', "import { x } from './missing.js';\nexport const g = x;"],
    ]);
    const { graph, unresolved } = importGraph(sources);
    expect(graph.get('lib/a.ts')).to.deep.equal(['lib/b.ts']);
    expect(graph.get('lib/sub/c.ts')).to.deep.equal(['lib/a.ts', 'lib/d.ts']);
    expect(unresolved).to.deep.equal(['lib/g.ts: ./missing.js']);
    const found = circles(graph);
    expect(found).to.deep.equal([['lib/a.ts', 'lib/b.ts', 'lib/sub/c.ts'], ['lib/d.ts', 'lib/e.ts'], ['lib/f.ts']]);
    expect(pathAround(graph, found[0]!)).to.deep.equal(['lib/a.ts', 'lib/b.ts', 'lib/sub/c.ts', 'lib/a.ts']);
    expect(pathAround(graph, found[2]!)).to.deep.equal(['lib/f.ts', 'lib/f.ts']);
  });

  it('resolves every relative import of lib/ to a file', () => {
    const { graph, unresolved } = importGraph(libSources());
    expect(unresolved, unresolved.join('\n')).to.deep.equal([]);
    expect(graph.size).to.be.greaterThan(50);
  });

  it('finds no circle but the allowed ones', () => {
    const { graph } = importGraph(libSources());
    const found = circles(graph).filter((c) => !ALLOWED.some((a) => same(a.files, c)));
    // Each circle: its files, and the shortest loop through each of them (one line per distinct loop).
    const report = found
      .map((c) => {
        const loops = new Set(c.map((f) => pathAround(graph, c, f)).map((p) => rotateToSmallest(p).join(' → ')));
        return [`circle of ${c.length} file(s): ${c.join(', ')}`, ...[...loops].map((l) => `  ${l}`)].join('\n');
      })
      .join('\n');
    expect(found, `import circles among lib/ files:\n${report}`).to.deep.equal([]);
  });

  it('every allowed circle still exists (delete the entries of circles that are gone)', () => {
    const { graph } = importGraph(libSources());
    const found = circles(graph);
    const gone = ALLOWED.filter((a) => !found.some((c) => same(a.files, c)));
    expect(
      gone.map((a) => a.files.join(' ↔ ')),
      'these ALLOWED circles are gone: delete their entries in test/lint/import-cycles.test.ts',
    ).to.deep.equal([]);
  });
});
