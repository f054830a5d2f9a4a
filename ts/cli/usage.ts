/**
 * Command-line usage checks, all made before any work starts: flags that do not apply to the
 * chosen mode, output names whose extension says nothing we can write, output paths in missing
 * directories. Each is a `UsageError` (exit 2) naming the flag, the mode and the value.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';

export class UsageError extends InputError {}

export function parseNumber(v: string, flag: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError('is not a finite number', { field: flag, value: v });
  return x;
}

export function parseCount(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x) || x < 1) throw new UsageError('must be a whole number >= 1', { field: flag, value: v });
  return x;
}

/** Flags the user typed (not defaults), as `--kebab-name`. */
export function givenFlags(cmd: Command): Set<string> {
  const out = new Set<string>();
  for (const o of cmd.options) {
    const key = o.attributeName();
    if (cmd.getOptionValueSource(key) !== 'cli') continue;
    // --x and --no-x share one value: the one given is the one that set it.
    const value = cmd.getOptionValue(key);
    const paired = cmd.options.some((p) => p !== o && p.attributeName() === key);
    if (paired && (o.negate ? value !== false : value === false)) continue;
    out.add(o.long ?? `--${key}`);
  }
  return out;
}

/**
 * Rejects each given flag that `rules` says does not apply: `rules[flag]` is the reason (a
 * sentence: what the flag is for or what to do instead), or undefined when the flag applies.
 */
export function rejectFlags(given: Set<string>, mode: string, rules: Record<string, string | undefined>): void {
  for (const [flag, reason] of Object.entries(rules)) {
    if (reason !== undefined && given.has(flag)) throw new UsageError(`does not apply to ${mode}: ${reason}`, { field: flag });
  }
}

const ext = (p: string) => {
  const base = p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);
  const i = base.lastIndexOf('.');
  return i > 0 ? base.slice(i).toLowerCase() : '';
};

/** Rejects an output name whose extension is not one of `allowed` (e.g. ['.json', '.onnx']). */
export function checkExtension(path: string, flag: string, allowed: readonly string[], what: string): void {
  const e = ext(path);
  if (!allowed.includes(e)) {
    throw new UsageError(`${e ? `unknown extension "${e}"` : 'no extension'} for ${what} (expected ${allowed.join(', ')})`, {
      field: flag,
      value: path,
    });
  }
}

/** The output's directory must exist and be writable, and the path must not be a directory. */
export function checkOutputPath(path: string, flag: string): void {
  const dir = dirname(resolve(path));
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir);
  } catch {
    throw new UsageError(`the directory ${dirname(path)} does not exist (create it first; nothing was computed)`, {
      field: flag,
      value: path,
    });
  }
  if (!st.isDirectory()) throw new UsageError(`${dirname(path)} is not a directory`, { field: flag, value: path });
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`the directory ${dirname(path)} is not writable`, { field: flag, value: path });
  }
  try {
    if (statSync(path).isDirectory()) throw new UsageError('is a directory, not a file name', { field: flag, value: path });
  } catch (e) {
    if (e instanceof UsageError) throw e;
  }
}

/** checkOutputPath for every given output flag. */
export function checkOutputs(outputs: Record<string, string | undefined>): void {
  for (const [flag, path] of Object.entries(outputs)) if (path !== undefined) checkOutputPath(path, flag);
}
