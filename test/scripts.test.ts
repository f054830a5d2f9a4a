/**
 * The repository scripts a newcomer meets first: the README's quick start (read by .ci/run),
 * the dist/ stamp that lets `npm run demo` start without rebuilding, and the demo runner.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs scripts without declarations
import { distState, inputsHash } from '../scripts/dist-state.mjs';
// @ts-expect-error plain .mjs scripts without declarations
import { quickStartCommands } from '../scripts/quickstart.mjs';
import { root } from './helpers.js';

describe('README quick start', () => {
  it('has exactly two commands: install + demo, and the whole test suite', () => {
    expect(quickStartCommands(readFileSync(join(root, 'README.md'), 'utf8'))).toEqual(['npm ci && npm run demo', 'npm test']);
    const out = execFileSync(process.execPath, [join(root, 'scripts/quickstart.mjs')], { encoding: 'utf8' });
    expect(out).toBe('npm ci && npm run demo\nnpm test\n');
  });

  it('the parser reads only the first sh block of the section, without comments, and the rule is enforced', () => {
    const readme = (block: string) => `# x\n\n## Quick start\n\n\`\`\`sh\n${block}\n\`\`\`\n\n\`\`\`sh\nnot this\n\`\`\`\n\n## API\n`;
    expect(quickStartCommands(readme('a && b   # one\n\n# a comment line\nc # two'))).toEqual(['a && b', 'c']);
    expect(quickStartCommands(readme('a\nb\nc'))).toHaveLength(3);
    expect(() => quickStartCommands('# x\n## API\n')).toThrow(/no "## Quick start" section/);
    // .ci/run stops on a README without exactly two commands.
    const dir = mkdtempSync(join(tmpdir(), 'relu-repair-qs-'));
    mkdirSync(join(dir, 'scripts'));
    cpSync(join(root, 'scripts/quickstart.mjs'), join(dir, 'scripts/quickstart.mjs'));
    writeFileSync(join(dir, 'README.md'), readme('npm ci\nnpm run demo\nnpm test'));
    let err = '';
    try {
      execFileSync(process.execPath, [join(dir, 'scripts/quickstart.mjs')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = (e as { stderr: string }).stderr;
    }
    expect(err).toMatch(/quick start has 3 command\(s\), the rule is exactly two/);
  });
});

describe('dist/ stamp', () => {
  it('is current after a build, and stale after any source, embedded data or build-script change', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relu-repair-stamp-'));
    for (const d of ['ts/cli', 'test/fixtures/hcas', 'scripts', 'dist']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'ts/index.ts'), 'export const a = 1;\n');
    writeFileSync(join(dir, 'ts/cli/main.ts'), 'export const b = 2;\n');
    writeFileSync(join(dir, 'test/fixtures/hcas/net.nnet'), '// net\n');
    writeFileSync(join(dir, 'test/fixtures/hcas/big.npy'), 'not an input of the build');
    writeFileSync(join(dir, 'scripts/build.mjs'), '// build\n');
    writeFileSync(join(dir, 'tsconfig.json'), '{}\n');
    const pkg = { name: 'x', version: '1.0.0', dependencies: { a: '1' }, scripts: { test: 'x' } };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
    expect(distState(dir)).toEqual({ current: false, reason: 'dist/ has not been built' });
    writeFileSync(join(dir, 'dist/index.js'), '');
    const stamp = (types: boolean) =>
      writeFileSync(join(dir, 'dist/.build-stamp.json'), JSON.stringify({ inputs: inputsHash(dir), types, files: ['index.js'] }));
    stamp(false);
    expect(distState(dir).current).toBe(true);
    expect(distState(dir, { types: true })).toEqual({ current: false, reason: 'dist/ was built without type declarations' });
    // Scripts and other manifest fields do not change the build; dependencies do.
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, scripts: {}, allowScripts: { a: false } }));
    expect(distState(dir).current).toBe(true);
    writeFileSync(join(dir, 'test/fixtures/hcas/big.npy'), 'changed');
    expect(distState(dir).current).toBe(true);
    for (const [f, text] of [
      ['ts/cli/main.ts', 'export const b = 3;\n'],
      ['test/fixtures/hcas/net.nnet', '// other net\n'],
      ['scripts/build.mjs', '// build 2\n'],
      ['package.json', JSON.stringify({ ...pkg, dependencies: { a: '2' } })],
    ]) {
      const before = readFileSync(join(dir, f));
      writeFileSync(join(dir, f), text);
      expect(distState(dir), f).toEqual({ current: false, reason: 'the sources changed since dist/ was built' });
      writeFileSync(join(dir, f), before);
      expect(distState(dir).current, f).toBe(true);
    }
    stamp(false);
    writeFileSync(
      join(dir, 'dist/.build-stamp.json'),
      JSON.stringify({ inputs: inputsHash(dir), types: false, files: ['index.js', 'cli.js'] }),
    );
    expect(distState(dir)).toEqual({ current: false, reason: 'dist/cli.js is missing' });
  });

  it('npm run demo runs the built CLI at once when dist/ is current', () => {
    const state = distState(root, { types: true });
    expect(state.current, `${state.reason}: run \`npm run build\` (npm test does) before this test`).toBe(true);
    const out = execFileSync(process.execPath, [join(root, 'scripts/demo.mjs'), '--repeats', '1', '--quiet'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toMatch(/Summary: 50\/50 buggy points fixed/);
    expect(distState(root, { types: true }).current).toBe(true); // not rebuilt (a rebuild from demo.mjs has no types)
  });
});
