/**
 * Loading models from bytes (any runtime) or from files (Node and Deno): the format follows the
 * file name — `.nnet`, `.json` (relu-repair network).
 */
import { InputError } from '../errors.js';
import type { Network } from '../network.js';
import { networkFromJson, REPAIRED_FORMAT } from './json.js';
import { parseNnet } from './nnet.js';

export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`is not valid JSON: ${(e as Error).message}`, { file }, { cause: e });
  }
}

/** Parses a model from its bytes; `name` picks the format by extension and names errors. */
export function parseModel(name: string, bytes: Uint8Array): Network {
  const lower = name.toLowerCase();
  const text = () => new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (lower.endsWith('.nnet')) return parseNnet(text(), name);
  if (lower.endsWith('.json')) {
    const doc = parseJsonText(text(), name);
    if ((doc as { format?: unknown })?.format === REPAIRED_FORMAT) {
      throw new InputError('is a repaired network; load it with loadRepaired() (or `relu-repair certify`), not as a model to repair', { file: name });
    }
    return networkFromJson(doc, name);
  }
  throw new InputError('unsupported model format: expected .nnet or .json', { file: name, value: name.slice(name.lastIndexOf('.')) });
}

async function readFile(path: string): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  try {
    return new Uint8Array(await fs.readFile(path));
  } catch (e) {
    throw new InputError(`cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path }, { cause: e });
  }
}

/** Reads a model file (Node, Deno). */
export async function loadModel(path: string): Promise<Network> {
  return parseModel(path, await readFile(path));
}

export async function readJsonFile(path: string): Promise<unknown> {
  return parseJsonText(new TextDecoder().decode(await readFile(path)), path);
}
