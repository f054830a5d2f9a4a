/**
 * `relu-repair demo`: the embedded default job (the HCAS network of REASSURE's example and its 50
 * counterexamples), printed as a table of points before → after with each region's patch norm and
 * proof, a summary line and honest timing: the first call (cold: the core's code and the LP paths
 * warm up) and the median of warm repeats of the same job.
 */
import type { Command } from 'commander';
import { HCAS_DEMO } from '../demo.js';
import { parseNnet } from '../formats/nnet.js';
import { parsePoints } from '../formats/points.js';
import { saveJson } from '../io.js';
import { type RepairResult, repair } from '../repair.js';
import { VERSION } from '../version.js';
import { init } from '../wasm/raw.js';
import { saveRepairedFile } from './formats.js';
import { type CommandRunner, type Interrupt, withProgress } from './interrupt.js';
import { EXIT_NOT_REPAIRED, EXIT_REPAIRED } from './repair.js';
import { certificateText, fmt, minimalityCounts, minimalityText } from './summary.js';
import { checkExtension, checkOutputs, parseCount } from './usage.js';

interface DemoFlags {
  out?: string;
  report?: string;
  repeats?: string;
  quiet?: boolean;
}

export function registerDemo(program: Command, run: CommandRunner): void {
  program
    .command('demo')
    .description('repair the embedded HCAS network on its 50 counterexamples and print a table (no files needed)')
    .option('--out <file>', 'also save the repaired network (.json, or .onnx)')
    .option('--report <file>', 'also save the report (JSON)')
    .option('--repeats <n>', 'warm repeats timed after the first run (default 5)')
    .option('--quiet', 'no progress on stderr')
    .action((flags: DemoFlags) => run((interrupt) => runDemo(flags, interrupt)));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function runDemo(flags: DemoFlags, interrupt: Interrupt): Promise<number> {
  if (flags.out !== undefined) checkExtension(flags.out, '--out', ['.json', '.onnx'], 'a repaired network');
  checkOutputs({ '--out': flags.out, '--report': flags.report });
  const repeats = flags.repeats === undefined ? 5 : (parseCount(flags.repeats, '--repeats') as number);
  await init();
  const net = parseNnet(HCAS_DEMO.modelText, HCAS_DEMO.modelName);
  const pts = parsePoints(HCAS_DEMO.points, net.inputSize, net.outputSize, HCAS_DEMO.pointsName);
  const job = { points: pts.points, labels: pts.labels, inputBox: pts.inputBox };
  const t0 = performance.now();
  const result: RepairResult = await withProgress(flags.quiet, interrupt, (onProgress, signal) =>
    repair(net, { ...job, onProgress, signal }),
  );
  const coldMs = performance.now() - t0;
  const warm: number[] = [];
  for (let i = 0; i < repeats && !interrupt.interrupted; i++) {
    const s = performance.now();
    await repair(net, { ...job, signal: interrupt.signal });
    warm.push(performance.now() - s);
  }
  if (interrupt.interrupted) return 0;
  const { report } = result;
  const before = net.predict(pts.points);
  const after = result.network.predict(pts.points);
  const argmax = (y: number[]) => y.reduce((b, v, i) => (v > y[b] ? i : b), 0);
  const regionOf = new Map<number, number>();
  report.regions.forEach((g, ri) => g.points.forEach((p) => regionOf.set(p, ri)));
  const adv = HCAS_DEMO.advisories;
  const lines: string[] = [];
  lines.push(`relu-repair ${VERSION} demo: repair the HCAS collision-avoidance network ${HCAS_DEMO.modelName}`);
  lines.push(`(3 inputs; 5 hidden ReLU layers of 25; 5 advisory scores) on its 50 known counterexamples (REASSURE's example).`);
  lines.push(`Specification: advisory 4 (SR, strong right) is the argmax on the whole linear region of each point.`);
  lines.push(`x0, x1, x2 are the raw network inputs, fed to the first layer as they are (REASSURE's set-up: x, y, theta`);
  lines.push(`without the .nnet header normalisation, so they are not feet); box |x0|, |x1| <= 65000, |x2| <= pi.`);
  lines.push('');
  lines.push(' #       x0       x1        x2  before -> after    region  patch |p|inf  lower bound  proof');
  pts.points.forEach((x, i) => {
    const ri = regionOf.get(i);
    const g = ri !== undefined ? report.regions[ri] : undefined;
    const b = argmax(before[i]);
    const a = argmax(after[i]);
    lines.push(
      `${String(i).padStart(2)} ${x[0].toFixed(0).padStart(8)} ${x[1].toFixed(0).padStart(8)} ${x[2].toFixed(4).padStart(9)}  ` +
        `${`${adv[b]} (${b})`.padEnd(6)} -> ${`${adv[a]} (${a})`.padEnd(6)} ${String(ri ?? '-').padStart(6)}  ` +
        `${g ? fmt(g.patchNorm).padStart(11) : '-'.padStart(11)}  ${g ? fmt(g.lowerBound).padStart(11) : '-'.padStart(11)}  ${g?.minimalityProof ?? '-'}`,
    );
  });
  const r = report.result;
  const counts = minimalityCounts(report.regions);
  const allMinimal = counts.enlarged + counts.split + counts.replaced === 0;
  lines.push('');
  lines.push(
    `Summary: ${r.fixedPoints}/${r.buggyPoints} buggy points fixed with ${r.regions} patches (points sharing a linear region share one); ` +
      `${minimalityText(report.regions)}${report.certificate ? `; certificate of the finished network: ${certificateText(report.certificate)}` : ''}.`,
  );
  if (allMinimal) lines.push(`Each patch has the minimal L-inf norm of any affine patch on its whole region (norm = lower bound).`);
  lines.push(
    `The network is unchanged, bit for bit, farther than each patch's radius (largest ${fmt(Math.max(...report.regions.map((g) => g.radius)))}) from its region.`,
  );
  const warmText = warm.length
    ? `; warm: ${median(warm).toFixed(1)} ms, median of ${warm.length} repeats (${(median(warm) / r.points).toFixed(2)} ms per point)`
    : '';
  lines.push(
    `Time: first run ${coldMs.toFixed(0)} ms (cold: includes warming up the core)${warmText}; wasm ${report.tool.wasm}, region LPs in the core simplex.`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  if (flags.out) await saveRepairedFile(flags.out, result.network, { quiet: flags.quiet });
  if (flags.report) await saveJson(flags.report, report);
  return r.status === 'repaired' ? EXIT_REPAIRED : EXIT_NOT_REPAIRED;
}
