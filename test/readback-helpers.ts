/** Helpers of the read-back tests: ONNX files decoded, edited and written again (tampering). */
import { decodeModel, encodeModel, type OnnxModel } from '../ts/formats/onnx/proto.js';
import { REPAIRED_ONNX_KEY } from '../ts/formats/onnx/record.js';

/** A decoded model written again with the same nodes, tensors, value infos and metadata. */
export function encodeDecoded(m: OnnxModel): Uint8Array {
  return encodeModel({
    irVersion: m.irVersion,
    opset: m.opsets,
    producerName: m.producerName,
    producerVersion: m.producerVersion,
    graphName: m.graph.name,
    docString: '',
    nodes: m.graph.nodes.map((n) => ({
      opType: n.opType,
      inputs: n.inputs,
      outputs: n.outputs,
      name: n.name,
      domain: n.domain,
      attributes: n.attributes.map((a) => ({
        name: a.name,
        ...(a.type === 1
          ? { f: a.f }
          : a.type === 2
            ? { i: a.i }
            : a.type === 3
              ? { s: a.s }
              : a.type === 6
                ? { floats: a.floats }
                : { ints: a.ints }),
      })),
    })),
    initializers: m.graph.initializers.map((t) => ({ name: t.name, dataType: t.dataType, dims: t.dims, data: t.data })),
    inputs: m.graph.inputs.map((v) => ({ name: v.name, elemType: v.elemType, shape: v.shape as (number | string)[] })),
    outputs: m.graph.outputs.map((v) => ({ name: v.name, elemType: v.elemType, shape: v.shape as (number | string)[] })),
    metadata: m.metadata,
  });
}

/** `bytes` with `edit` applied to the decoded model. */
export function tamper(bytes: Uint8Array, edit: (m: OnnxModel) => void): Uint8Array {
  const m = decodeModel(bytes, 'tamper.onnx');
  edit(m);
  return encodeDecoded(m);
}

/** The first initializer whose name starts with `prefix`. */
export function initializer(m: OnnxModel, prefix: string) {
  const t = m.graph.initializers.find((x) => x.name.startsWith(prefix));
  if (!t) throw new Error(`no initializer ${prefix}*`);
  return t;
}

/** Edits the repair record (metadata) as JSON. */
// biome-ignore lint/suspicious/noExplicitAny: tamper edits reach into the record's JSON freely.
type Json = any;

export function editRecord(m: OnnxModel, edit: (doc: Json) => void): void {
  const e = m.metadata.find((x) => x.key === REPAIRED_ONNX_KEY);
  if (!e) throw new Error('no record');
  const doc = JSON.parse(e.value);
  edit(doc);
  e.value = JSON.stringify(doc);
}
