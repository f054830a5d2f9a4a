/** `relu-repair certify`: prove a spec on a (repaired) network, region by region. */
import type { Command } from 'commander';
import { certify } from '../certificate.js';
import { certifyArea } from '../certificate-area.js';
import type { SavedBoxesReport } from '../certificate-boxes.js';
import type { Area } from '../enumerate.js';
import { InputError } from '../errors.js';
import { REPAIRED_FORMAT, repairedFromJson } from '../formats/json.js';
import { loadModel, readJsonFile } from '../formats/load.js';
import { loadRepairedOnnx, notRecognised } from '../formats/onnx/readback.js';
import { saveJson } from '../io.js';
import { RepairedNetwork } from '../repaired.js';
import { polytopeSpec, type Spec } from '../spec.js';
import { type SpecUnion, unionSpec } from '../spec-union.js';
import { init } from '../wasm/raw.js';
import { isVnnlibPath, type VnnlibJob } from './formats.js';
import { type CommandRunner, type Interrupt, withProgress } from './interrupt.js';
import { EXIT_NOT_REPAIRED, EXIT_REPAIRED } from './repair.js';
import { areaSpec, loadArea } from './spec-flags.js';
import { certificateText, certificateWarnings } from './summary.js';
import { checkOutputs, givenFlags, parseCount, parseNumber, rejectFlags, UsageError } from './usage.js';

interface CertifyFlags {
  model: string;
  property?: string;
  spec?: string;
  label?: string;
  margin?: string;
  area?: string;
  maxRegions?: string;
  tolerance?: string;
  exact?: boolean;
  report?: string;
  quiet?: boolean;
}

export function registerCertify(program: Command, run: CommandRunner): void {
  program
    .command('certify')
    .description('prove a spec on a repaired network, region by region (exit 0 certified, 1 not certified, 2 bad input)')
    .requiredOption(
      '--model <file>',
      'repaired network (relu-repair JSON, or an ONNX file relu-repair wrote in float64), or a plain model with --area',
    )
    .option(
      '--area <file>',
      'certify every linear region of this area: JSON {box, A?, b?, targetLabel?}, or a VNN-LIB property file (its input set is the area, its safe set the spec); default: the regions the patches repaired',
    )
    .option('--property <i>', 'with --area X.vnnlib of several properties (input sets): which one (0-based)')
    .option(
      '--spec <file>',
      'output spec JSON: {"label": K, "margin"?: m} or {"P": [[...]], "q": [...]} (P y <= q); for a VNN-LIB property use --area',
    )
    .option('--label <K>', 'label spec: output K is the argmax')
    .option('--margin <m>', 'margin for the label spec (default 0); with --area X.vnnlib, shrinks its safe set')
    .option('--max-regions <N>', 'with --area: stop with an error beyond N linear regions (default 100000)')
    .option(
      '--tolerance <T>',
      "absolute tolerance: certified only when every proven bound on P y - q (rounding included) is <= T (default: 1e-9 x (1 + scale of the spec rows' values))",
    )
    .option('--exact', 'model every patch whose band reaches a region exactly (default: bound patches that only lower every spec row by 0)')
    .option('--report <file>', 'certificate report (JSON)')
    .option('--quiet', 'no summary or progress on stderr')
    .addHelpText(
      'after',
      '\nA VNN-LIB property is passed as the area: `relu-repair certify --model repaired.json --area prop.vnnlib [--property i]`\n' +
        '(its input constraints are the area and the complement of its unsafe set is the spec; no --label or --spec needed).\n' +
        'Without --area, certify checks the regions the patches of a repaired network repaired (and the ones its repair record names), in its input box;\n' +
        "a box patch (repair --method box, or a BaB leaf patched as a whole) is re-proven on its whole box by bounds on the file's own parameters;\n" +
        'a file whose record does not match its patches (a patch deleted, a box moved) is not certified. Without a spec flag, the spec the file records is used.\n' +
        "With --area on a file written by an area repair by branch and bound, its record's proof map (the pieces its box was split into, and how each\n" +
        'was proven) is used instead of enumerating every linear region: the pieces must cover the area (checked exactly) and each is re-proven on the\n' +
        "file's own parameters (bounds with every patch whose band reaches it, or its linear regions re-enumerated and certified); a file without one\n" +
        'is certified by enumeration, and the output says so.',
    )
    .action((flags: CertifyFlags, cmd: Command) => run((interrupt) => runCertify(flags, givenFlags(cmd), interrupt)));
}

async function runCertify(flags: CertifyFlags, given: Set<string>, interrupt: Interrupt): Promise<number> {
  const vnnArea = flags.area !== undefined && isVnnlibPath(flags.area);
  if (flags.spec !== undefined && isVnnlibPath(flags.spec)) {
    throw new UsageError(
      'a VNN-LIB property is passed as --area (its input set is the area and its safe set the spec): certify --model M --area prop.vnnlib',
      { field: '--spec', value: flags.spec },
    );
  }
  rejectFlags(given, flags.area === undefined ? 'certify without --area' : 'certify', {
    '--property': vnnArea ? undefined : 'it picks a property of a VNN-LIB area (--area X.vnnlib)',
    '--max-regions':
      flags.area !== undefined
        ? undefined
        : 'it limits the enumeration of an area (--area); without one the repaired regions are certified',
  });
  checkOutputs({ '--report': flags.report });
  const maxRegions = parseCount(flags.maxRegions, '--max-regions');
  const tolerance = flags.tolerance !== undefined ? parseNumber(flags.tolerance, '--tolerance') : undefined;
  if (tolerance !== undefined && !(tolerance >= 0))
    throw new UsageError('must be a number >= 0', { field: '--tolerance', value: flags.tolerance });
  await init();
  // A repaired network (relu-repair JSON), or a plain model certified as it is (with --area).
  let network: RepairedNetwork;
  const text = flags.model.toLowerCase().endsWith('.json') ? ((await readJsonFile(flags.model)) as { format?: unknown }) : undefined;
  // A repaired ONNX is recognised only when the network rebuilt from it re-exports to the file bit
  // for bit (ts/formats/onnx/readback.ts); otherwise it is at most a plain graph.
  const onnx = flags.model.toLowerCase().endsWith('.onnx') ? await loadRepairedOnnx(flags.model) : undefined;
  if (text?.format === REPAIRED_FORMAT) network = repairedFromJson(text, flags.model);
  else if (onnx?.kind === 'repaired') network = onnx.network;
  else {
    if (onnx?.kind === 'refused' && flags.area === undefined)
      throw new InputError(`${notRecognised(onnx)}; pass --area to certify the file as a plain graph on an area`, { file: flags.model });
    const net = await loadModel(flags.model);
    if (flags.area === undefined)
      throw new UsageError(
        'is not a repaired network (relu-repair JSON or ONNX written by relu-repair); pass --area to certify a plain model on an area',
        {
          file: flags.model,
        },
      );
    if (onnx?.kind === 'refused' && !flags.quiet)
      process.stderr.write(`relu-repair: ${flags.model} ${notRecognised(onnx)}; certified as a plain graph on the area\n`);
    network = new RepairedNetwork(net, [], net.info.inputBox);
  }
  const file = flags.area !== undefined ? await loadArea(flags.area, network.original, flags) : undefined;
  const recorded = !file?.spec && flags.spec === undefined && flags.label === undefined ? recordedSpec(network) : undefined;
  const spec = await areaSpec(
    vnnArea ? { ...flags, margin: undefined } : flags,
    file?.spec ?? recorded,
    network.outputSize,
    flags.area ?? flags.model,
  );
  if (file?.area && network.record?.proof)
    // The property's unsafe set only when the spec is the one it gives (not a --spec or the record's).
    return certifyFromProof(network, file.area, spec, file.spec ? file.unsafe : undefined, flags, tolerance, maxRegions, interrupt);
  if (file?.area && !flags.quiet && (network.record || network.patches.length > 0))
    process.stderr.write(
      `relu-repair: ${flags.model} has no proof map of its repair (record.proof): every linear region of the area is enumerated (slow on large areas)\n`,
    );
  const report = await withProgress(flags.quiet, interrupt, (onProgress, signal) =>
    certify(network, {
      spec,
      area: file?.area,
      enumerate: { maxRegions },
      boundHelpful: !flags.exact,
      tolerance,
      signal,
      onProgress: (e) => onProgress({ done: e.done, total: e.total, phase: e.phase }),
    }),
  );
  if (interrupt.interrupted) return 0;
  if (flags.report) await saveJson(flags.report, report);
  const boxes = report.boxes;
  const scope =
    report.scope === 'area'
      ? `every linear region of the area (${flags.area})`
      : `the ${report.regions} region(s) its ${report.covered?.patches ?? 0} patch(es) repaired${network.record ? ' (and its record names)' : ''}` +
        (boxes ? ` and the ${boxes.total} box(es) patched as a whole` : '');
  const named = report.covered && report.covered.regions.length > 0 ? `; regions ${namedRegions(report.covered.regions)}` : '';
  const lines = [
    ...(report.mismatch ?? []).map((m) => `mismatch (${m.what}): ${m.message}`),
    ...(boxes ? boxLines(boxes) : []),
    ...certificateWarnings(report),
  ];
  // Only boxes: the regions' summary would be "0/0 regions"; the boxes' is the certificate.
  const summary = boxes && report.regions === 0 ? boxesText(boxes) : `${certificateText(report)}${boxes ? `; ${boxesText(boxes)}` : ''}`;
  // The recorded spec is the claim being checked, not evidence: say which claim it is.
  if (recorded && network.record?.spec) lines.unshift(`spec from the file's record: ${recordedSpecText(network.record.spec.pieces)}`);
  if (report.status === 'certified') {
    if (!flags.quiet) {
      process.stderr.write(`certified on ${scope}: ${summary}; ${(report.ms ?? 0).toFixed(1)} ms${named}\n`);
      for (const l of lines) process.stderr.write(`relu-repair: ${l}\n`);
    }
    return EXIT_REPAIRED;
  }
  process.stderr.write(`relu-repair: NOT certified on ${scope}: ${summary}${named}\n`);
  for (const l of lines) process.stderr.write(`relu-repair: ${l}\n`);
  return EXIT_NOT_REPAIRED;
}

/**
 * `certify --area` of a file whose record carries its repair's proof map (ts/certificate-area.ts):
 * the cover checked exactly, every piece re-proven on the file's own parameters, no enumeration of
 * the area.
 */
async function certifyFromProof(
  network: RepairedNetwork,
  area: Area,
  spec: Spec | SpecUnion,
  unsafe: VnnlibJob['unsafe'],
  flags: CertifyFlags,
  tolerance: number | undefined,
  maxRegions: number | undefined,
  interrupt: Interrupt,
): Promise<number> {
  const c = await withProgress(flags.quiet, interrupt, (onProgress, signal) =>
    certifyArea(network, {
      spec,
      unsafe,
      area,
      tolerance,
      maxRegions,
      boundHelpful: !flags.exact,
      signal,
      onProgress: (e) => onProgress({ done: e.done, total: e.total, phase: e.phase }),
    }),
  );
  if (interrupt.interrupted) return 0;
  if (flags.report) await saveJson(flags.report, c);
  const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
  const m = c.byMethod;
  const parts = [
    `${m.bounds.proven}/${m.bounds.pieces} bounds piece(s) (${pct(m.bounds.share)} of the box${c.provenByHint > 0 ? `, ${c.provenByHint} by the record's hint` : ''}${c.provenOnOriginal > 0 ? `, ${c.provenOnOriginal} on the original network` : ''}${c.provenByVerify > 0 ? `, ${c.provenByVerify} by branch and bound on the original network` : ''})`,
    `${m['box-patch'].proven}/${m['box-patch'].pieces} box-patched piece(s) (${pct(m['box-patch'].share)})`,
    `${m.regions.proven}/${m.regions.pieces} exact-region piece(s) (${pct(m.regions.share)}; ${c.regions.certified}/${c.regions.enumerated} linear regions certified)`,
    ...(m.empty.pieces + m.unproven.pieces > 0 ? [`${m.empty.pieces} empty and ${m.unproven.pieces} unproven piece(s) in the record`] : []),
  ];
  const cover = c.cover?.covered ? `the record's ${c.pieces} pieces cover the area (checked exactly)` : `cover NOT shown`;
  const summary = `${cover}; ${parts.join(', ')}; ${(c.timingsMs.total / 1000).toFixed(2)} s`;
  const lines = [
    ...c.refused
      .slice(0, 8)
      .map(
        (r) =>
          `piece ${r.piece} (${r.how}) [${r.lower.join(', ')}] .. [${r.upper.join(', ')}] NOT proven: ${r.reason}` +
          (r.witness
            ? `; witness ${JSON.stringify(r.witness)}${r.violation !== undefined ? ` (violation ${r.violation})` : ''}`
            : '; no violating point found'),
      ),
    ...(c.refused.length > 8 ? [`and ${c.refused.length - 8} more (all in the report's refused)`] : []),
    ...c.notes,
  ];
  if (c.status === 'certified') {
    if (!flags.quiet) {
      process.stderr.write(`certified on the area (${flags.area}) from the file's proof map: ${summary}\n`);
      for (const l of lines) process.stderr.write(`relu-repair: ${l}\n`);
    }
    return EXIT_REPAIRED;
  }
  process.stderr.write(`relu-repair: NOT certified on the area (${flags.area}) from the file's proof map: ${summary}\n`);
  for (const l of lines) process.stderr.write(`relu-repair: ${l}\n`);
  return EXIT_NOT_REPAIRED;
}

/** The boxes in one phrase: how many proven, by which bound, the largest proven bound. */
function boxesText(b: SavedBoxesReport): string {
  const worst = b.perBox.reduce((m, c) => Math.max(m, c.provenBound), -Infinity);
  return (
    `${b.certified}/${b.total} box(es) proven by bounds (${b.bound}${b.depth > 0 ? `, up to ${b.depth} halvings` : ''}` +
    `${b.total > 0 ? `; largest proven bound ${worst.toExponential(3)}` : ''})` +
    (b.unchecked.length > 0 ? `; ${b.unchecked.length} box patch(es) NOT checked` : '')
  );
}

/** One line per box not proven, per box patch not checked, and the notes. */
function boxLines(b: SavedBoxesReport): string[] {
  const out: string[] = [];
  b.perBox.forEach((c, i) => {
    if (c.status === 'certified') return;
    const why = c.refusedParts[0]?.reason ?? 'no part proven';
    out.push(
      `box ${i} (${c.source}${c.patch !== null ? `, patch ${c.patch}` : ''}) NOT proven: ${c.refusedParts.length} part(s) refused; ${why}`,
    );
  });
  for (const u of b.unchecked) out.push(u.message);
  return [...out, ...b.notes];
}

/** The spec a repaired network's record names (its repair's), as a spec or union. */
function recordedSpec(network: RepairedNetwork): Spec | SpecUnion | undefined {
  const pieces = network.record?.spec?.pieces;
  if (!pieces) return undefined;
  return unionSpec(pieces.map((p) => polytopeSpec(p.P, p.q, { outputs: network.outputSize, file: 'record.spec' })));
}

/** A recorded spec in words: label specs as "label K is the argmax", other pieces by their row count. */
function recordedSpecText(pieces: readonly { P: number[][]; q: number[] }[]): string {
  return pieces
    .map(({ P, q }) => {
      // Rows e_j − e_K with the same K and q = −margin for every j != K: a label spec.
      const ks = new Set<number>();
      const label = P.every((row, i) => {
        const nz = row.map((v, o) => [v, o]).filter(([v]) => v !== 0);
        if (nz.length !== 2 || q[i] !== q[0]) return false;
        const minus = nz.find(([v]) => v === -1);
        const plus = nz.find(([v]) => v === 1);
        if (!minus || !plus) return false;
        ks.add(minus[1]);
        return true;
      });
      if (label && ks.size === 1 && P.length === (P[0]?.length ?? 0) - 1) {
        const margin = -q[0];
        return `label ${[...ks][0]} is the argmax${margin ? ` by >= ${margin}` : ''}`;
      }
      return `P y <= q (${P.length} row(s))`;
    })
    .join(' or ');
}

/** Up to 8 activation patterns, then how many more (the report lists them all). */
function namedRegions(hex: readonly string[]): string {
  // Patterns of large networks (a repaired network repaired again has thousands of neurons) are cut short.
  const short = (h: string) => (h.length > 40 ? `${h.slice(0, 32)}…(${h.length * 4} neurons)` : h);
  const shown = hex.slice(0, 8).map(short).join(', ');
  return hex.length > 8 ? `${shown} and ${hex.length - 8} more (all in the report's covered.regions)` : shown;
}
