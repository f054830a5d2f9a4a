/**
 * The repair record of a repaired network's ONNX file: one `metadata_props` entry
 * ({@link REPAIRED_ONNX_KEY}) holding the relu-repair JSON of the repaired network (ts/formats/
 * json.ts) without the original network's parameters — those are the graph's own tensors — plus
 * the name of the tensor that carries the original network's output and the export options. With
 * it, ./readback.ts rebuilds the RepairedNetwork and proves the rebuilt object *is* the file by
 * exporting it again. The record is never evidence by itself: a record that does not reproduce the
 * file's tensors and nodes bit for bit is refused.
 */
import { InputError } from '../../errors.js';
import type { RepairedNetwork } from '../../repaired.js';
import { repairedToJson } from '../json.js';
import type { OnnxModel } from './proto.js';

export const REPAIRED_ONNX_KEY = 'relu-repair.repaired-network';

/** What the record says about the original network and the export (the rest is the repaired-network JSON). */
export interface OnnxRepairRecord {
  /** The repaired-network JSON (format, composition, inputBox, boxGate, record, patches, …); its `original` is {@link original}. */
  doc: Record<string, unknown>;
  original: {
    /** The tensor holding the original network's output, before any patch term is added. */
    output: string;
    inputBox?: { lower: number[]; upper: number[] };
  };
  /** `OnnxExportOptions.compactSupports` of the export (it chooses how supports are written). */
  compactSupports: boolean;
}

/** The metadata entry of a repaired network exported with `compactSupports` (OnnxExportOptions), whose original output is tensor `originalOutput`. */
export function repairRecordMetadata(
  rep: RepairedNetwork,
  originalOutput: string,
  compactSupports: boolean,
): { key: string; value: string } {
  // The original network's parameters are the graph's tensors: serialise the rest only (a stub
  // original keeps repairedToJson from converting millions of weights to JSON for nothing).
  const lean = Object.create(rep, { original: { value: { info: {}, denseLayers: [] } } }) as RepairedNetwork;
  const doc = repairedToJson(lean);
  const box = rep.original.info.inputBox;
  doc.original = {
    output: originalOutput,
    ...(box ? { inputBox: { lower: [...box.lower], upper: [...box.upper] } } : {}),
  };
  return { key: REPAIRED_ONNX_KEY, value: JSON.stringify({ ...doc, compactSupports }) };
}

/** The record of a model, or undefined when it has none (not a repaired network relu-repair wrote); a malformed record is an InputError. */
export function readRepairRecord(model: OnnxModel, file: string): OnnxRepairRecord | undefined {
  const entries = model.metadata.filter((m) => m.key === REPAIRED_ONNX_KEY);
  if (entries.length === 0) return undefined;
  const field = `metadata_props "${REPAIRED_ONNX_KEY}"`;
  if (entries.length > 1) throw new InputError(`appears ${entries.length} times`, { file, field });
  let v: unknown;
  try {
    v = JSON.parse(entries[0].value);
  } catch (e) {
    throw new InputError(`is not valid JSON: ${(e as Error).message}`, { file, field }, { cause: e });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError('must be a JSON object', { file, field });
  const { compactSupports, ...doc } = v as Record<string, unknown>;
  const original = doc.original as Record<string, unknown> | undefined;
  if (typeof original?.output !== 'string')
    throw new InputError('must name the original network output tensor', {
      file,
      field: `${field}.original.output`,
      value: original?.output,
    });
  if (typeof compactSupports !== 'boolean')
    throw new InputError('must be true or false', { file, field: `${field}.compactSupports`, value: compactSupports });
  return { doc, original: original as OnnxRepairRecord['original'], compactSupports };
}
