/** File output for Node and Deno: written to a temporary file, then renamed into place, so a
 * failure never leaves a partial output file behind. */
import { InputError } from './errors.js';
import { repairedFromJson } from './formats/json.js';
import { readJsonFile } from './formats/load.js';
import { loadRepairedOnnx, notRecognised } from './formats/onnx/readback.js';
import type { RepairedNetwork } from './repaired.js';
import { init } from './wasm/raw.js';

export async function saveJson(path: string, doc: unknown): Promise<void> {
  const fs = await import('node:fs/promises');
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await fs.writeFile(tmp, JSON.stringify(doc) + '\n');
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Reads a repaired network (initialises the core: compact supports are recomputed in it): relu-repair
 * JSON, or an ONNX file relu-repair wrote (only when it is recognised: ts/formats/onnx/readback.ts).
 */
export async function loadRepaired(path: string): Promise<RepairedNetwork> {
  await init();
  if (path.toLowerCase().endsWith('.onnx')) {
    const r = await loadRepairedOnnx(path);
    if (r.kind === 'repaired') return r.network;
    throw new InputError(notRecognised(r), { file: path });
  }
  return repairedFromJson(await readJsonFile(path), path);
}
