/**
 * Packs the package (`npm pack`, as published) and installs the tarball into a fresh consumer
 * project outside the repository, so that only the tarball and its declared dependencies are
 * visible there. The test tooling (vite, vitest, playwright) is linked in from the repository.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../helpers.js';

export interface Packed {
  /** The working package.json before and after `npm pack` (postpack must restore it byte for byte). */
  manifestBefore: string;
  manifestAfter: string;
  dir: string;
  consumer: string;
  tarball: string;
  files: string[];
  size: number;
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export function packAndInstall(): Packed {
  if (!existsSync(join(root, 'dist/index.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  const dir = mkdtempSync(join(tmpdir(), 'relu-repair-pack-'));
  // With its lifecycle scripts, as `npm publish` packs: prepack strips the manifest (and refuses
  // a stale dist/), postpack restores the working one.
  const manifestBefore = readFileSync(join(root, 'package.json'), 'utf8');
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', dir], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const manifestAfter = readFileSync(join(root, 'package.json'), 'utf8');
  const info = JSON.parse(out)[0] as { filename: string; size: number; files: { path: string }[] };
  const tarball = join(dir, info.filename);
  const consumer = join(dir, 'consumer');
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify(
      { name: 'relu-repair-consumer', private: true, type: 'module', dependencies: { 'relu-repair': `file:${tarball}` } },
      null,
      2,
    ),
  );
  execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
    cwd: consumer,
    stdio: 'pipe',
  });
  // Test tooling only (not the package's dependencies): linked from the repository.
  for (const m of ['vite', 'vitest', '@vitest', 'playwright', 'playwright-core', 'typescript', '@types']) {
    const dst = join(consumer, 'node_modules', m);
    if (!existsSync(dst)) symlinkSync(join(root, 'node_modules', m), dst, 'dir');
  }
  cpSync(join(root, 'examples'), join(consumer, 'examples'), { recursive: true });
  cpSync(join(root, 'test/packaging/consumer'), consumer, { recursive: true });
  cpSync(join(root, 'test/fixtures/hcas/HCAS_rect_v6_pra1_tau05_25HU_3000.nnet'), join(consumer, 'hcas.nnet'));
  cpSync(join(root, 'test/fixtures/hcas/buggy-points-pra1-tau05.json'), join(consumer, 'hcas-points.json'));
  return { manifestBefore, manifestAfter, dir, consumer, tarball, files: info.files.map((f) => f.path), size: info.size };
}

export function cleanup(p: Packed | undefined): void {
  if (p && !process.env.KEEP_PACK) rmSync(p.dir, { recursive: true, force: true });
}

export const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
