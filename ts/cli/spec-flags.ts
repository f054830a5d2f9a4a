/**
 * From flags to a job: `--label`/`--spec`/`--margin` to a spec, `--area`/`--property` to an area,
 * `--input-box` to a box. One place, so `repair` and `certify` read them alike.
 */

import { checkSafeSetNotEmpty } from '../certificate.js';
import { type AreaFile, parseAreaJson } from '../formats/area.js';
import { readJsonFile } from '../formats/load.js';
import { type Box, expandBox, type Network } from '../network.js';
import { labelSpec, parseSpecJson, type Spec } from '../spec.js';
import type { SpecUnion } from '../spec-union.js';
import { isVnnlibPath, type VnnlibJob, vnnlibJob } from './formats.js';
import { parseNumber, UsageError } from './usage.js';

export async function parseInputBox(arg: string, dim: number): Promise<Box> {
  const parts = arg.split(',');
  if (parts.length === 2 && parts.every((p) => p.trim() !== '' && Number.isFinite(Number(p)))) {
    return expandBox(Number(parts[0]), Number(parts[1]), dim, undefined, '--input-box');
  }
  const doc = (await readJsonFile(arg)) as Record<string, unknown>;
  const b = (doc?.box ?? doc?.inputBox ?? doc) as Record<string, unknown>;
  return expandBox(b?.lower, b?.upper, dim, arg, doc?.box ? 'box' : doc?.inputBox ? 'inputBox' : '');
}

/** An area file: JSON (ts/formats/area.ts), or a VNN-LIB property (its input set and safe set). */
export async function loadArea(
  path: string,
  net: Network,
  opts: { property?: string; margin?: string; quiet?: boolean },
): Promise<{ area: AreaFile['area']; spec?: Spec | SpecUnion; unsafe?: VnnlibJob['unsafe'] }> {
  if (isVnnlibPath(path)) {
    const margin = opts.margin !== undefined ? parseNumber(opts.margin, '--margin') : undefined;
    const job = await vnnlibJob(path, net, { property: opts.property, margin, fallbackBox: net.info.inputBox });
    if (!opts.quiet) process.stderr.write(job.summary + '\n');
    return { area: { box: job.inputBox, inputSet: job.inputSet }, spec: job.spec, unsafe: job.unsafe };
  }
  return parseAreaJson(await readJsonFile(path), net.inputSize, net.outputSize, path);
}

/**
 * The spec of an area job: `--spec` (JSON), `--label` (with `--margin`), else the area file's.
 * `--margin` also applies to a label the area file names; with a polytope spec it has no meaning.
 */
export async function areaSpec(
  flags: { spec?: string; label?: string; margin?: string },
  fromFile: Spec | SpecUnion | undefined,
  outputs: number,
  source: string,
): Promise<Spec | SpecUnion> {
  if (flags.label !== undefined && flags.spec !== undefined) throw new UsageError('give --label or --spec, not both', { field: '--spec' });
  const margin = flags.margin !== undefined ? parseNumber(flags.margin, '--margin') : undefined;
  if (flags.spec !== undefined && isVnnlibPath(flags.spec)) {
    throw new UsageError('with an area, give a VNN-LIB property as --area (its input set is the area and its safe set the spec)', {
      file: flags.spec,
      field: '--spec',
    });
  }
  if (flags.spec !== undefined) {
    if (margin !== undefined)
      throw new UsageError('does not apply with --spec FILE: put "margin" in the spec file (label specs) or shift q (polytope specs)', {
        field: '--margin',
      });
    const s = parseSpecJson(await readJsonFile(flags.spec), outputs, flags.spec);
    checkSafeSetNotEmpty(s, flags.spec);
    return s;
  }
  if (flags.label !== undefined) return labelSpec(parseNumber(flags.label, '--label'), outputs, { margin, field: '--label' });
  if (fromFile) {
    checkSafeSetNotEmpty(fromFile, source);
    if (margin === undefined) return fromFile;
    const f = fromFile as Spec;
    if (f.label === undefined)
      throw new UsageError(`does not apply: the spec of ${source} is not a label spec (--margin widens "label is the argmax")`, {
        field: '--margin',
      });
    if (f.margin) throw new UsageError(`${source} already gives a margin (${f.margin}); give it in one place`, { field: '--margin' });
    return labelSpec(f.label, outputs, { margin, field: '--margin' });
  }
  throw new UsageError(`no specification: pass --label K or --spec FILE, or give "targetLabel" or "spec" in ${source}`, {
    field: '--spec',
  });
}
