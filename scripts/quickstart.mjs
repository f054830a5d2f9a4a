// Prints the README's quick-start commands, one per line: the lines of the first ```sh block
// under "## Quick start", without their trailing `# comments`. .ci/run runs exactly these in a
// fresh clone, so the README cannot drift from what CI checks. Exits 1 unless there are exactly
// two (the project's rule: one runs the main job on an embedded default, one runs all the tests).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function quickStartCommands(readme) {
  const section = /^## Quick start\s*$([\s\S]*?)(?=^## )/m.exec(readme);
  if (!section) throw new Error('README.md has no "## Quick start" section');
  const block = /^```(?:sh|bash|shell)\s*$([\s\S]*?)^```\s*$/m.exec(section[1]);
  if (!block) throw new Error('the Quick start section has no ```sh block');
  return block[1]
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  let cmds;
  try {
    cmds = quickStartCommands(readFileSync(join(root, 'README.md'), 'utf8'));
  } catch (e) {
    process.stderr.write(`quickstart: ${e.message}\n`);
    process.exit(1);
  }
  if (cmds.length !== 2) {
    process.stderr.write(
      `quickstart: README.md's quick start has ${cmds.length} command(s), the rule is exactly two:\n${cmds.map((c) => `  ${c}`).join('\n')}\n`,
    );
    process.exit(1);
  }
  process.stdout.write(cmds.join('\n') + '\n');
}
