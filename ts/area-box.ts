/**
 * Area repair of a whole box by one box patch (issue 10 item 2; ts/box-patch.ts): for an area in
 * high dimension (an MNIST L∞ ball) whose linear regions cannot be enumerated. The patch is sized
 * from sound bounds of the spec rows over the box, composed like any patch (ts/assemble.ts: the
 * chain, the shared box gate), and the finished network is certified on the whole box by bounds
 * (`certifyBox`). "repaired" only with that certificate.
 */
import { assemble } from './assemble.js';
import { type BoxCertificate, type BoxPatchResult, type BoxSearchOptions, boxPatch, certifyBox } from './box-patch.js';
import { type Area, checkArea } from './enumerate.js';
import { InputError, throwIfAborted } from './errors.js';
import type { Network } from './network.js';
import { resolveRadius, resolveSpecs } from './repair-options.js';
import type { RepairedNetwork } from './repaired.js';
import { describeSpec, type Spec } from './spec.js';
import { isSpecUnion, type SpecUnion } from './spec-union.js';
import { VERSION } from './version.js';
import { getCore, init } from './wasm/raw.js';

export interface AreaBoxOptions {
  area: Area;
  spec?: Spec | SpecUnion;
  label?: number;
  margin?: number;
  /** Locality radius of the patch band (default 1e-3 × the narrowest positive side of the box). */
  radius?: number;
  search?: BoxSearchOptions;
  /** Certificate tolerance on the proven bound (default 0). */
  tolerance?: number;
  signal?: AbortSignal;
}

export interface AreaBoxReport {
  schemaVersion: 1;
  kind: 'area-box';
  tool: { name: 'relu-repair'; version: string; wasm: 'simd' | 'scalar' };
  area: { lower: number[]; upper: number[]; inputSetRows: number };
  spec: string;
  result: {
    /** `holds`: the bounds prove the spec on the whole box, nothing changed. */
    status: 'holds' | 'repaired' | 'not-certified' | 'no-patch';
    patches: number;
    patchNorm: number;
    certified: boolean;
  };
  /** Minimality gap: the patch from the sound bounds U vs the one from the worst violations found L. */
  minimality: {
    patchNorm: number;
    minimalNorm: number;
    lowerBound: number;
    gap: number;
    piece: number;
    upper: number[];
    found: number[];
    witnessViolation: number;
  };
  certificate: BoxCertificate | null;
  radius: number;
  timingsMs: { total: number; patch: number; certify: number };
  notes: string[];
}

export interface AreaBoxResult {
  network: RepairedNetwork;
  report: AreaBoxReport;
  patch: BoxPatchResult;
}

/** Repairs the whole box of `opts.area` with one box patch and certifies it (module comment). */
export async function repairAreaBox(network: Network, opts: AreaBoxOptions): Promise<AreaBoxResult> {
  await init();
  const t0 = performance.now();
  throwIfAborted(opts.signal);
  checkArea(opts.area, network.inputSize);
  const { box, inputSet } = opts.area;
  if (opts.spec !== undefined && opts.label !== undefined)
    throw new InputError('give either "spec" or "label", not both', { field: 'spec' });
  const [spec] = resolveSpecs(network, 1, { spec: opts.spec, labels: opts.label, margin: opts.margin });
  const radius = resolveRadius(opts.radius, box);
  const notes: string[] = [];
  if (inputSet && inputSet.b.length > 0)
    notes.push('the area has input-set rows: the box patch and its certificate cover the whole bounding box (a superset)');
  const bp = await boxPatch(network, box, spec, { radius, search: opts.search, signal: opts.signal });
  notes.push(...bp.notes);
  const tPatch = performance.now();
  const patches = bp.patch ? [bp.patch] : [];
  const assembly = await assemble(network, patches, [], { box, inputSet, radius, certify: false, scope: 'area', spec });
  const cert =
    bp.needed && bp.patch ? await certifyBox(assembly.network, box, spec, { tolerance: opts.tolerance, signal: opts.signal }) : null;
  const tCert = performance.now();
  const status: AreaBoxReport['result']['status'] = !bp.needed
    ? 'holds'
    : !bp.patch
      ? 'no-patch'
      : cert?.status === 'certified'
        ? 'repaired'
        : 'not-certified';
  if (status === 'not-certified')
    notes.push('the box patch is not certified on the finished network; it must not be used as a certified repair');
  return {
    network: assembly.network,
    patch: bp,
    report: {
      schemaVersion: 1,
      kind: 'area-box',
      tool: { name: 'relu-repair', version: VERSION, wasm: getCore().flavour },
      area: { lower: [...box.lower], upper: [...box.upper], inputSetRows: inputSet?.b.length ?? 0 },
      spec: isSpecUnion(spec) ? `union of ${spec.pieces.length} convex pieces over ${spec.outputs} outputs` : describeSpec(spec),
      result: {
        status,
        patches: patches.length,
        patchNorm: bp.patch ? bp.norm : 0,
        certified: status === 'repaired' || status === 'holds',
      },
      minimality: {
        patchNorm: bp.norm,
        minimalNorm: bp.minimalNorm,
        lowerBound: bp.lowerBound,
        gap: bp.norm - bp.minimalNorm,
        piece: bp.piece,
        upper: bp.upper,
        found: bp.found,
        witnessViolation: bp.witnessViolation,
      },
      certificate: cert,
      radius,
      timingsMs: { total: performance.now() - t0, patch: tPatch - t0, certify: tCert - tPatch },
      notes,
    },
  };
}
