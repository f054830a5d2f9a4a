// `npm run demo`: runs `relu-repair demo` from the built package (dist/cli.js). dist/ is built
// only when it is missing or older than the sources (content hash, scripts/dist-state.mjs), so a
// second run starts at once.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distState } from './dist-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const state = distState(root);
if (!state.current) {
  process.stderr.write(
    `demo: ${state.reason}: building it first (bundles only, a few seconds; \`npm run build\` adds the type declarations)\n`,
  );
  const b = spawnSync(process.execPath, [join(root, 'scripts/build.mjs'), '--no-types'], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const r = spawnSync(process.execPath, [join(root, 'dist/cli.js'), 'demo', ...process.argv.slice(2)], { stdio: 'inherit' });
if (r.signal) process.kill(process.pid, r.signal);
process.exit(r.status ?? 1);
