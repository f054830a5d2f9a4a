/**
 * The import graph of ts/ (docs/ARCHITECTURE.md): no cycles, and every import points to a module
 * of the same layer or a lower one. Every `import`, `import type`, `export … from` and `import()`
 * of a relative module counts — a type-only import across layers is a layering fault as much as a
 * value import. The module list comes from TypeScript's own pre-processor (comments and strings
 * are not mistaken for imports).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { root } from './helpers.js';

type Graph = Map<string, string[]>;

/**
 * The layers, lowest first (docs/ARCHITECTURE.md). A module may import from its own layer (no
 * cycles) or a lower one. A new file must be placed here (first matching pattern wins).
 */
const LAYERS: { name: string; files: RegExp }[] = [
  { name: 'base', files: /^ts\/(errors|version)\.ts$|^ts\/(util|wasm)\// },
  { name: 'numerics', files: /^ts\/(spec|spec-union)\.ts$|^ts\/lp\// },
  {
    name: 'model objects',
    files:
      /^ts\/(network|region|patch|repaired|reach|enumerate|minimal|certificate|certificate-boxes|bounds|box-patch|area-proof)\.ts$|^ts\/network\//,
  },
  { name: 'composition, formats', files: /^ts\/(compose|refine|touching|io|eval)\.ts$|^ts\/(formats|dataset)\// },
  { name: 'jobs', files: /^ts\/(region-job|box-job|assemble|repair-options|report)\.ts$/ },
  { name: 'pool', files: /^ts\/pool\// },
  { name: 'orchestrators', files: /^ts\/(repair|area|area-bab|area-pending|area-box|head|verify|certificate-area)\.ts$/ },
  { name: 'entry points', files: /^ts\/(index|demo)\.ts$|^ts\/cli\// },
];

const layerOf = (file: string) => LAYERS.findIndex((l) => l.files.test(file));

/** Every .ts file under `dir` (paths relative to the repository root, with forward slashes). */
function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(join(root, dir));
  return out.map((p) => relative(root, p).split('\\').join('/')).sort();
}

/** The relative imports of every file, resolved to files of the tree (`x.js` is the source `x.ts`). */
function importGraph(dir: string): { graph: Graph; unresolved: string[] } {
  const files = sources(dir);
  const known = new Set(files);
  const graph: Graph = new Map();
  const unresolved: string[] = [];
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    const deps = new Set<string>();
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue; // packages and node: built-ins
      if (!fileName.endsWith('.js')) continue; // data imported by the bundler (.nnet, .json)
      const target = relative(root, resolve(root, dirname(file), fileName.replace(/\.js$/, '.ts')))
        .split('\\')
        .join('/');
      if (known.has(target)) deps.add(target);
      else if (target.startsWith(`${dir}/`)) unresolved.push(`${file} -> ${fileName}`);
    }
    graph.set(file, [...deps].sort());
  }
  return { graph, unresolved };
}

/**
 * One cycle (a path that returns to its start) per strongly connected component that has one, and
 * the component's members (a component can hold several cycles; breaking the one shown may not be enough).
 */
function findCycles(graph: Graph): { cycle: string[]; members: string[] }[] {
  // Tarjan's strongly connected components, iteratively.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const deps = graph.get(top.node) ?? [];
      if (top.next < deps.length) {
        const d = deps[top.next++];
        if (!index.has(d)) {
          index.set(d, counter);
          low.set(d, counter++);
          stack.push(d);
          onStack.add(d);
          work.push({ node: d, next: 0 });
        } else if (onStack.has(d)) low.set(top.node, Math.min(low.get(top.node)!, index.get(d)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const comp: string[] = [];
        let x: string;
        do {
          x = stack.pop()!;
          onStack.delete(x);
          comp.push(x);
        } while (x !== top.node);
        const selfLoop = comp.length === 1 && (graph.get(comp[0]) ?? []).includes(comp[0]);
        if (comp.length > 1 || selfLoop) components.push(comp);
      }
    }
  }
  return components.map((comp) => ({ cycle: cycleIn(graph, comp), members: [...comp].sort() }));
}

/** A shortest cycle through the component's first member (breadth-first back to it). */
function cycleIn(graph: Graph, comp: string[]): string[] {
  const members = new Set(comp);
  const first = [...comp].sort()[0];
  const from = new Map<string, string>();
  const queue = [first];
  while (queue.length > 0) {
    const x = queue.shift()!;
    for (const d of graph.get(x) ?? []) {
      if (!members.has(d)) continue;
      if (d === first) {
        const path = [x];
        while (path[0] !== first) path.unshift(from.get(path[0])!);
        return [...path, first];
      }
      if (!from.has(d)) {
        from.set(d, x);
        queue.push(d);
      }
    }
  }
  return [...comp, comp[0]];
}

describe('import graph of ts/', () => {
  const { graph, unresolved } = importGraph('ts');

  it('the cycle finder finds cycles (a known graph)', () => {
    const g: Graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
      ['f', ['a']],
    ]);
    expect(
      findCycles(g)
        .map((c) => c.cycle.join(' -> '))
        .sort(),
    ).toEqual(['a -> b -> c -> a', 'e -> e']);
    expect(
      findCycles(
        new Map([
          ['x', ['y']],
          ['y', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('reads the real tree (every relative import resolves; the graph is not trivially empty)', () => {
    expect(unresolved).toEqual([]);
    expect(graph.size).toBeGreaterThan(40);
    // Type-only and re-export edges count: spot-check both kinds.
    expect(graph.get('ts/report.ts')).toContain('ts/region-job.ts'); // import type
    expect(graph.get('ts/index.ts')).toContain('ts/repair.ts'); // export … from
    expect(graph.get('ts/pool/pool.ts')).toContain('ts/pool/spawn-node.ts'); // import()
  });

  it('has no import cycles', () => {
    const cycles = findCycles(graph).map((c) => `${c.cycle.join(' -> ')}   (component: ${c.members.join(', ')})`);
    expect(cycles, `import cycles in ts/:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('imports point down the layers (or stay within one)', () => {
    const unplaced = [...graph.keys()].filter((f) => layerOf(f) < 0);
    expect(unplaced, 'modules in no layer: place them in LAYERS (and docs/ARCHITECTURE.md)').toEqual([]);
    const upward: string[] = [];
    for (const [file, deps] of graph) {
      for (const d of deps) {
        if (layerOf(d) > layerOf(file)) upward.push(`${file} (${LAYERS[layerOf(file)].name}) -> ${d} (${LAYERS[layerOf(d)].name})`);
      }
    }
    expect(upward).toEqual([]);
  });
});
