/**
 * Loading models from bytes (any runtime) or from files (Node and Deno): the format follows the
 * file name — `.nnet`, `.onnx`, `.json` (relu-repair network, or a TF.js layers `model.json`,
 * recognised by its content; its weight shards are read from next to it by `loadModel`).
 * A gzip-compressed file (`.onnx.gz`, `.nnet.gz`, `.json.gz`, as VNN-COMP ships nn4sys) is
 * decompressed by `loadModel` and its format read from the name without `.gz`; `parseModel` takes
 * the decompressed bytes (it is synchronous) and refuses gzip bytes with an error saying so.
 */
import { InputError } from '../errors.js';
import type { Network } from '../network.js';
import { maybeGunzip } from './idx.js';
import { networkFromJson, REPAIRED_FORMAT } from './json.js';
import { type NnetOptions, parseNnet } from './nnet.js';
import { parseOnnx } from './onnx/import.js';
import { isTfjsModelJson, parseTfjs, tfjsShardPaths } from './tfjs.js';

/** Format-specific options of {@link parseModel} / {@link loadModel}. */
export interface ModelLoadOptions extends NnetOptions {
  /** ONNX: the graph output to import when there are several. */
  output?: string;
}

export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`is not valid JSON: ${(e as Error).message}`, { file }, { cause: e });
  }
}

/** Parses a model from its bytes; `name` picks the format by extension and names errors. */
export function parseModel(name: string, bytes: Uint8Array, opts: ModelLoadOptions = {}): Network {
  if (isGzip(bytes))
    throw new InputError('is gzip-compressed: decompress it first (loadModel does, or maybeGunzip(bytes))', { file: name });
  const lower = withoutGz(name).toLowerCase();
  const text = () => new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (lower.endsWith('.nnet')) return parseNnet(text(), name, opts);
  if (lower.endsWith('.onnx')) return parseOnnx(bytes, name, opts);
  if (lower.endsWith('.json')) {
    const doc = parseJsonText(text(), name);
    if (isTfjsModelJson(doc)) {
      throw new InputError('is a TF.js model.json: its weight shards are separate files; use loadModel(path) or parseTfjs(json, shards)', {
        file: name,
      });
    }
    if ((doc as { format?: unknown })?.format === REPAIRED_FORMAT) {
      throw new InputError('is a repaired network; load it with loadRepaired() (or `relu-repair certify`), not as a model to repair', {
        file: name,
      });
    }
    return networkFromJson(doc, name);
  }
  throw new InputError('unsupported model format: expected .nnet, .onnx, .json or a TF.js model.json', {
    file: name,
    value: name.slice(name.lastIndexOf('.')),
  });
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
const withoutGz = (name: string) => name.replace(/\.gz$/i, '');

async function readFile(path: string): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  try {
    return new Uint8Array(await fs.readFile(path));
  } catch (e) {
    throw new InputError(
      `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
}

/** Reads a model file (Node, Deno); a TF.js model.json with its weight shards. */
export async function loadModel(path: string, opts: ModelLoadOptions = {}): Promise<Network> {
  let bytes = await readFile(path);
  if (isGzip(bytes) || /\.gz$/i.test(path)) bytes = await maybeGunzip(bytes, path);
  if (withoutGz(path).toLowerCase().endsWith('.json')) {
    const doc = parseJsonText(new TextDecoder().decode(bytes), path);
    if (isTfjsModelJson(doc)) {
      const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
      const shards = new Map<string, Uint8Array>();
      for (const p of tfjsShardPaths(doc, path)) {
        if (p.includes('..') || p.startsWith('/') || /^[a-z]+:/i.test(p))
          throw new InputError('weight shard paths must be relative file names next to model.json', {
            file: path,
            field: 'weightsManifest',
            value: p,
          });
        shards.set(p, await readFile(dir + p.replace(/^\.\//, '')));
      }
      return parseTfjs(doc, (p) => shards.get(p)!, path);
    }
  }
  return parseModel(path, bytes, opts);
}

export async function readJsonFile(path: string): Promise<unknown> {
  return parseJsonText(new TextDecoder().decode(await readFile(path)), path);
}
