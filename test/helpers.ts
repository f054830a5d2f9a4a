import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Network, parseImages, parseLabels, parseNnet, parsePoints, polytopeSpec, type Spec } from '../ts/index.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const fixture = (...p: string[]) => join(root, 'test/fixtures', ...p);

export function hcasTau05() {
  const net = parseNnet(readFileSync(fixture('hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet'), 'utf8'), 'tau05.nnet');
  const doc = JSON.parse(readFileSync(fixture('hcas/buggy-points-pra1-tau05.json'), 'utf8'));
  const pts = parsePoints(doc, 3, 5);
  return { net, points: pts.points, labels: pts.labels!, inputBox: pts.inputBox!, minimalPatchLinf: doc.minimalPatchLinf as number[] };
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    const u = Math.max(next(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  return { next, normal, range: (lo: number, hi: number) => lo + (hi - lo) * next() };
}

export function randomNetwork(r: ReturnType<typeof rng>, sizes: number[]): Network {
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [ni, no] = [sizes[l], sizes[l + 1]];
    layers.push({
      weights: Array.from({ length: no }, () => Array.from({ length: ni }, () => r.normal() / Math.sqrt(ni))),
      bias: Array.from({ length: no }, () => 0.1 * r.normal()),
    });
  }
  return Network.fromArrays(layers);
}

export const argmax = (y: ArrayLike<number>) => {
  let b = 0;
  for (let i = 1; i < y.length; i++) if (y[i] > y[b]) b = i;
  return b;
};

/** Runs the built CLI (dist/cli.js) as a user would; never throws on a non-zero exit. */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(root, 'dist/cli.js'), ...args], {
      cwd: root,
      maxBuffer: 1 << 26,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/**
 * `run-instances CSV --out results.csv --repair --quiet` in `dir` on the CSV rows given: checks the
 * exit code and the header's repair columns, and returns the result rows split into cells
 * (columns 11..18: repair, repair_s, regions_enumerated, patches, certified, repaired_model,
 * box_patches, max_patch_norm).
 */
export async function runInstancesRepair(dir: string, csvRows: string): Promise<{ rows: string[][]; stderr: string; code: number }> {
  const csv = join(dir, 'i.csv');
  writeFileSync(csv, csvRows);
  const out = join(dir, 'results.csv');
  const r = await runCli(['run-instances', csv, '--out', out, '--repair', '--quiet']);
  if (r.code !== 0) return { rows: [], stderr: r.stderr, code: r.code };
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  if (!/,repair,repair_s,regions_enumerated,patches,certified,repaired_model,box_patches,max_patch_norm$/.test(lines[0]))
    throw new Error(`run-instances header without the repair columns: ${lines[0]}`);
  return { rows: lines.slice(1).map((l) => l.split(',')), stderr: r.stderr, code: r.code };
}

/**
 * A random 2-10-10-2 network with six points in [−0.9, 0.9]² and a narrow output box (width 0.02)
 * away from f at the first point: the constant patch is not minimal (often not feasible), so the
 * full LP gives affine patches.
 */
export function narrowBoxCase(r: ReturnType<typeof rng>): {
  net: Network;
  inputBox: { lower: number[]; upper: number[] };
  points: number[][];
  spec: Spec;
} {
  const net = randomNetwork(r, [2, 10, 10, 2]);
  const inputBox = { lower: [-1, -1], upper: [1, 1] };
  const points = Array.from({ length: 6 }, () => [r.range(-0.9, 0.9), r.range(-0.9, 0.9)]);
  const y = net.predict([points[0]])[0];
  const c = [y[0] + 0.5, y[1] - 0.3];
  const spec = polytopeSpec(
    [
      [1, 0],
      [-1, 0],
      [0, 1],
      [0, -1],
    ],
    [c[0] + 0.01, -(c[0] - 0.01), c[1] + 0.01, -(c[1] - 0.01)],
  );
  return { net, inputBox, points, spec };
}

/**
 * VNN-LIB text of the shared ACAS Xu property `prop_<p>.vnnlib` with its input box replaced by
 * `sub` (its output assertions unchanged).
 */
export function acasSubProperty(p: number, sub: { lower: readonly number[]; upper: readonly number[] }): string {
  return readFileSync(fixture('acasxu', `prop_${p}.vnnlib`), 'utf8').replace(
    /\(assert \((<=|>=) X_(\d) ([-0-9.e]+)\)\)/g,
    (_all, op: string, j: string) => `(assert (${op} X_${j} ${op === '<=' ? sub.upper[Number(j)] : sub.lower[Number(j)]}))`,
  );
}

/**
 * Locality check of a repaired network: among the `m` points of `x`, those where every patch
 * support is exactly 0 (outside every band); `differ` counts those whose outputs are not bit for
 * bit the original network's.
 */
export function outsideSupports(
  rep: {
    patches: readonly unknown[];
    supportsFlat(x: Float64Array, m: number): Float64Array;
    forwardFlat(x: Float64Array, m: number): Float64Array;
  },
  net: Network,
  x: Float64Array,
  m: number,
): { outside: number; differ: number } {
  const g = rep.supportsFlat(x, m);
  const P = rep.patches.length;
  const a = rep.forwardFlat(x, m);
  const o = net.forwardFlat(x, m);
  const k = o.length / m;
  let outside = 0;
  let differ = 0;
  for (let i = 0; i < m; i++) {
    let zero = true;
    for (let q = 0; q < P && zero; q++) zero = g[i * P + q] === 0;
    if (!zero) continue;
    outside++;
    for (let j = 0; j < k; j++)
      if (!Object.is(a[i * k + j], o[i * k + j])) {
        differ++;
        break;
      }
  }
  return { outside, differ };
}

/**
 * The first `count` MNIST test images (pixels / 255, rounded to float32 as a float32 model sees
 * them) and their labels, from the fixtures.
 */
export async function mnistTestSet(count: number): Promise<{ x: Float64Array; labels: Int32Array }> {
  const images = await parseImages(new Uint8Array(readFileSync(fixture('mnist', 't10k-images-idx3-ubyte.gz'))), 'images.gz', { scale: 1 });
  const labels = await parseLabels(new Uint8Array(readFileSync(fixture('mnist', 't10k-labels-idx1-ubyte.gz'))), 'labels.gz', 10);
  return { x: images.x.subarray(0, count * 784).map((v) => Math.fround(v / 255)), labels: labels.subarray(0, count) };
}
