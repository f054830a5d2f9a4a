/**
 * Reading a repaired network back from the ONNX file relu-repair wrote (`readRepairedOnnx`), so
 * that the shipped file itself can be certified and repaired again.
 *
 * The original network is imported from the graph's own tensors (the sub-graph that computes the
 * tensor the record names as the original output); the patches, gate, composition and repair
 * record come from the record (./record.ts), compact supports being recomputed from the imported
 * network. The rebuilt RepairedNetwork is then exported again with the file's options and compared
 * with the file: every node (operator, inputs, outputs, attributes), every initializer (bit for
 * bit), the graph's inputs and outputs, and every metadata entry. Only an exact match makes the
 * file a recognised repaired network, so whatever is certified about the rebuilt object is about
 * the very graph in the file (the exporter emits the evaluator's function: ts/formats/onnx/
 * patch-graph.ts). Any difference — an edited weight, a removed node, a moved gate, a record
 * that disagrees with the tensors — is reported by name and the file is not recognised.
 */
import { InputError, ReluRepairError } from '../../errors.js';
import { expandBox, Network } from '../../network.js';
import { type RecordBox, type RepairedNetwork, recordBoxesOf } from '../../repaired.js';
import { networkToJson, repairedFromJson } from '../json.js';
import { repairedToOnnx } from './export.js';
import { type OnnxModelInfo, parseOnnx, parseOnnxModel } from './import.js';
import { DT, dataTypeName, decodeModel, type OnnxModel, type OnnxNode } from './proto.js';
import { type OnnxRepairRecord, REPAIRED_ONNX_KEY, readRepairRecord } from './record.js';

export type RepairedOnnx =
  /** No repair record: an ordinary model (certify it as a plain graph, on an area). */
  | { kind: 'plain' }
  /** A repaired network whose rebuilt object re-exports to the file bit for bit. */
  | { kind: 'repaired'; network: RepairedNetwork }
  /** A record that does not match the file (or cannot be certified as a repaired network): why. */
  | { kind: 'refused'; reasons: string[] };

/** How many differences a refusal lists (then how many more). */
const SHOWN = 6;

/** Reads a repaired network back from ONNX bytes (see the module comment). */
export function readRepairedOnnx(bytes: Uint8Array, file = 'model.onnx'): RepairedOnnx {
  const model = decodeModel(bytes, file);
  let rec: OnnxRepairRecord | undefined;
  try {
    rec = readRepairRecord(model, file);
  } catch (e) {
    if (e instanceof InputError) return { kind: 'refused', reasons: [e.message] };
    throw e;
  }
  if (!rec) return { kind: 'plain' };
  const g = model.graph;
  const inits = new Set(g.initializers.map((t) => t.name));
  const inputs = g.inputs.filter((v) => !inits.has(v.name));
  if (inputs.length !== 1 || g.outputs.length !== 1)
    return {
      kind: 'refused',
      reasons: [`has ${inputs.length} data inputs and ${g.outputs.length} outputs; a repaired network has one of each`],
    };
  const input = inputs[0];
  if (input.elemType !== DT.DOUBLE) {
    // float32 tensors are roundings of the certified parameters, and float32 evaluation of the
    // supports is far off inside narrow bands (export.ts float32BandError): the file does not
    // compute the function a float64 certificate is about.
    return {
      kind: 'refused',
      reasons: [
        `its element type is ${dataTypeName(input.elemType)}: only a float64 (DOUBLE) export computes the certified function ` +
          '(float32 rounds the parameters and the patch bands); export with precision float64, or certify the file as a plain graph on an area',
      ],
    };
  }
  let rebuilt: RepairedNetwork;
  try {
    rebuilt = rebuild(model, rec, file);
  } catch (e) {
    if (e instanceof ReluRepairError) return { kind: 'refused', reasons: [`its record does not rebuild a repaired network: ${e.message}`] };
    throw e;
  }
  const shape = input.shape ?? [];
  let again: OnnxModel;
  try {
    again = decodeModel(
      repairedToOnnx(rebuilt, {
        precision: 'float64',
        inputName: input.name,
        outputName: g.outputs[0].name,
        inputShape: shape.slice(1) as number[],
        compactSupports: rec.compactSupports,
      }),
      `${file} (rebuilt)`,
    );
  } catch (e) {
    if (e instanceof ReluRepairError) return { kind: 'refused', reasons: [`its rebuilt network cannot be exported again: ${e.message}`] };
    throw e;
  }
  const diffs = diffModels(model, again);
  if (diffs.length > 0) {
    const shown = diffs.slice(0, SHOWN);
    if (diffs.length > SHOWN) shown.push(`and ${diffs.length - SHOWN} more difference(s)`);
    return { kind: 'refused', reasons: shown };
  }
  return { kind: 'repaired', network: rebuilt };
}

/**
 * A repaired network from ONNX bytes; an InputError naming the file and every difference found
 * when the file is not a recognised repaired network.
 */
export function repairedFromOnnx(bytes: Uint8Array, file = 'model.onnx'): RepairedNetwork {
  const r = readRepairedOnnx(bytes, file);
  if (r.kind === 'repaired') return r.network;
  throw new InputError(notRecognised(r), { file });
}

/** The message for a file that is not a recognised repaired network. */
export function notRecognised(r: Exclude<RepairedOnnx, { kind: 'repaired' }>): string {
  if (r.kind === 'plain') return `is not a repaired network (it has no "${REPAIRED_ONNX_KEY}" record)`;
  return `is not a recognised repaired network: ${r.reasons.join('; ')}`;
}

/** Reads a repaired network from an ONNX file (Node, Deno): {@link readRepairedOnnx}. */
export async function loadRepairedOnnx(path: string): Promise<RepairedOnnx> {
  const fs = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(path));
  } catch (e) {
    throw new InputError(
      `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
  return readRepairedOnnx(bytes, path);
}

/** The RepairedNetwork the record describes, with the original network imported from the graph's tensors. */
function rebuild(model: OnnxModel, rec: OnnxRepairRecord, file: string): RepairedNetwork {
  const out = rec.original.output;
  // The nodes the original output depends on (ONNX lists nodes in topological order).
  const needed = new Set([out]);
  const kept: OnnxNode[] = [];
  for (let i = model.graph.nodes.length - 1; i >= 0; i--) {
    const n = model.graph.nodes[i];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    kept.push(n);
    for (const x of n.inputs) needed.add(x);
  }
  if (!model.graph.nodes.some((n) => n.outputs.includes(out)))
    throw new InputError('is not computed by any node', {
      file,
      field: `metadata_props "${REPAIRED_ONNX_KEY}".original.output`,
      value: out,
    });
  const sub: OnnxModel = {
    ...model,
    graph: { ...model.graph, nodes: kept.reverse(), outputs: [{ name: out, elemType: DT.DOUBLE }] },
  };
  const net = parseOnnxModel(sub, file);
  const b = rec.original.inputBox;
  const box = b ? expandBox(b.lower, b.upper, net.inputSize, file, `metadata_props "${REPAIRED_ONNX_KEY}".original.inputBox`) : undefined;
  const original = net.denseLayers
    ? new Network(net.denseLayers, { source: file, inputBox: box })
    : Network.fromGraph(net.graph, { source: file, inputBox: box });
  const rep = repairedFromJson({ ...rec.doc, original: networkToJson(original) }, file);
  checkRecord(rep, file);
  return rep;
}

/**
 * What the export does not bind to tensors — the repair record's regions and area, the input box
 * a certificate without an area uses — must agree with what it does bind: the patches (their
 * patterns are the masks of compact supports) and the box gate (its offsets). A repair writes
 * them consistently (ts/assemble.ts); an edit of one side is refused here.
 */
function checkRecord(rep: RepairedNetwork, file: string): void {
  const rec = rep.record;
  if (!rec) return;
  const field = `metadata_props "${REPAIRED_ONNX_KEY}".record`;
  if (rec.patches !== rep.patches.length)
    throw new InputError(`names ${rec.patches} patch(es), the file has ${rep.patches.length}`, { file, field: `${field}.patches` });
  // A box patch's pattern is only a placeholder (its support is its box): the record names its box.
  const patched = new Set(rep.patches.filter((p) => !p.region?.box).map((p) => p.region?.pattern));
  const named = new Set(rec.regions);
  const unnamed = [...patched].filter((h) => !named.has(h as string));
  const unpatched = [...named].filter((h) => !patched.has(h));
  if (unnamed.length > 0 || unpatched.length > 0)
    throw new InputError(
      `names ${named.size} region(s), the patches repair ${patched.size}` +
        `${unnamed.length ? `; not named: ${unnamed.slice(0, 4).join(', ')}${unnamed.length > 4 ? ', …' : ''}` : ''}` +
        `${unpatched.length ? `; without a patch: ${unpatched.slice(0, 4).join(', ')}${unpatched.length > 4 ? ', …' : ''}` : ''}`,
      { file, field: `${field}.regions` },
    );
  const same = (a: { lower: ArrayLike<number>; upper: ArrayLike<number> }, b: { lower: ArrayLike<number>; upper: ArrayLike<number> }) =>
    a.lower.length === b.lower.length && Array.from(a.lower).every((v, j) => v === b.lower[j] && a.upper[j] === b.upper[j]);
  if (rec.boxes) {
    const boxes = recordBoxesOf(rep.patches);
    const key = (b: RecordBox) => canonical({ lower: b.lower, upper: b.upper, piece: b.piece ?? null });
    const named = new Set(rec.boxes.map(key));
    const have = new Set(boxes.map(key));
    const unnamedBoxes = boxes.filter((b) => !named.has(key(b))).length;
    const unpatchedBoxes = rec.boxes.filter((b) => !have.has(key(b))).length;
    if (unnamedBoxes > 0 || unpatchedBoxes > 0)
      throw new InputError(
        `names ${rec.boxes.length} box(es), the box patches cover ${boxes.length}; ${unnamedBoxes} patch box(es) not named, ${unpatchedBoxes} named box(es) without a patch`,
        { file, field: `${field}.boxes` },
      );
  }
  const box = rep.inputBox;
  if (box && rep.boxGate && !same(box, rep.boxGate))
    throw new InputError("the input box differs from the box gate's bounds", {
      file,
      field: `metadata_props "${REPAIRED_ONNX_KEY}".inputBox`,
    });
  if (box && rec.kind === 'area' && rec.area && !same(box, rec.area))
    throw new InputError("the recorded area box differs from the input box (the box gate's)", { file, field: `${field}.area` });
}

/** JSON with object keys sorted, so that two records compare by content. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

function nodeText(n: OnnxNode): string {
  const attrs = n.attributes.map((a) => {
    const { hasGraph: _g, t, ...rest } = a;
    return {
      ...rest,
      ...(t ? { t: { dims: t.dims, dataType: t.dataType, data: Array.from(t.data, (x) => (Object.is(x, -0) ? '-0' : x)) } } : {}),
    };
  });
  return `${n.domain ? `${n.domain}.` : ''}${n.opType}(${n.inputs.join(', ')}) -> ${n.outputs.join(', ')} "${n.name}" ${canonical(attrs)}`;
}

/**
 * Bit for bit, except that +0 and −0 are the same weight: the importer may write a zero it
 * composed with its sign flipped, and no operator of these graphs (affine maps, ReLU, pooling —
 * no division) tells them apart in its result's value.
 */
const sameValue = (a: number, b: number) => Object.is(a, b) || a === b;

/** Every difference between the file and the model exported from the rebuilt network (empty: the same graph). */
export function diffModels(file: OnnxModel, rebuilt: OnnxModel): string[] {
  const d: string[] = [];
  if (file.irVersion !== rebuilt.irVersion) d.push(`ir_version: the file has ${file.irVersion}, the rebuilt network ${rebuilt.irVersion}`);
  if (canonical(file.opsets) !== canonical(rebuilt.opsets)) d.push('opset_import differs');
  const fg = file.graph;
  const rg = rebuilt.graph;
  for (const what of ['inputs', 'outputs'] as const)
    if (canonical(fg[what]) !== canonical(rg[what]))
      d.push(`graph ${what}: the file has ${canonical(fg[what])}, the rebuilt network ${canonical(rg[what])}`);
  if (fg.sparseInitializers > 0) d.push(`the file has ${fg.sparseInitializers} sparse initializer(s)`);
  // Nodes, in order.
  if (fg.nodes.length !== rg.nodes.length) d.push(`the file has ${fg.nodes.length} nodes, the rebuilt network ${rg.nodes.length}`);
  const m = Math.min(fg.nodes.length, rg.nodes.length);
  for (let i = 0; i < m; i++) {
    const a = nodeText(fg.nodes[i]);
    const b = nodeText(rg.nodes[i]);
    if (a !== b) d.push(`node ${i}: the file has ${a}, the rebuilt network ${b}`);
  }
  // Initializers, by name, bit for bit.
  const mine = new Map(rg.initializers.map((t) => [t.name, t]));
  const seen = new Set<string>();
  for (const t of fg.initializers) {
    seen.add(t.name);
    const r = mine.get(t.name);
    if (!r) {
      d.push(`initializer "${t.name}" is not in the rebuilt network`);
      continue;
    }
    if (t.dataType !== r.dataType || canonical(t.dims) !== canonical(r.dims)) {
      d.push(
        `initializer "${t.name}": the file has ${dataTypeName(t.dataType)} [${t.dims}], the rebuilt network ${dataTypeName(r.dataType)} [${r.dims}]`,
      );
      continue;
    }
    const k = t.data.findIndex((x, j) => !sameValue(x, r.data[j]));
    if (k >= 0 || t.data.length !== r.data.length) {
      let count = 0;
      for (let j = 0; j < t.data.length; j++) if (!sameValue(t.data[j], r.data[j])) count++;
      d.push(
        `initializer "${t.name}": ${count} value(s) differ, first at flat index ${k} (the file has ${t.data[k]}, the rebuilt network ${r.data[k]})`,
      );
    }
  }
  for (const t of rg.initializers) if (!seen.has(t.name)) d.push(`initializer "${t.name}" of the rebuilt network is missing from the file`);
  // Metadata, by key (the record by content).
  const keys = new Set([...file.metadata.map((e) => e.key), ...rebuilt.metadata.map((e) => e.key)]);
  for (const key of keys) {
    const a = file.metadata.filter((e) => e.key === key).map((e) => e.value);
    const b = rebuilt.metadata.filter((e) => e.key === key).map((e) => e.value);
    const same =
      a.length === b.length &&
      a.every((v, i) => {
        if (key !== REPAIRED_ONNX_KEY) return v === b[i];
        try {
          return canonical(JSON.parse(v)) === canonical(JSON.parse(b[i]));
        } catch {
          return false;
        }
      });
    if (!same)
      d.push(
        a.length === 0
          ? `metadata "${key}" is missing from the file`
          : b.length === 0
            ? `metadata "${key}" is not written for the rebuilt network`
            : `metadata "${key}" differs from the one the rebuilt network gets (the record disagrees with the graph)`,
      );
  }
  return d;
}

/**
 * The base network of a repair of a repaired ONNX file (docs/COMPOSITION.md, "Repairing a
 * repaired network"): the file's whole graph as a plain network — the old patches and gate are
 * part of its function — declaring the original network's input range when the file is a
 * recognised repaired network, or else the box it was repaired on (a model without a declared
 * range, such as a CNN read from ONNX, repaired with an input box); an ordinary model reads as by
 * `parseOnnx`.
 */
export function repairBaseFromOnnx(bytes: Uint8Array, file = 'model.onnx', parsed?: Network & { onnx?: OnnxModelInfo }): Network {
  const net = parsed ?? parseOnnx(bytes, file);
  if (net.info.inputBox) return net;
  const r = readRepairedOnnx(bytes, file);
  const box = r.kind === 'repaired' ? (r.network.original.info.inputBox ?? r.network.inputBox) : undefined;
  if (!box) return net;
  const based = Network.fromGraph(net.graph, { ...net.info, inputBox: box }) as Network & { onnx?: OnnxModelInfo };
  based.onnx = net.onnx;
  return based;
}
