// npm lifecycle helper for `npm pack` / `npm publish`: the published package.json keeps only what
// a consumer's install reads. The development scripts (build, test, demo, bench, ...) run files
// that are not shipped (scripts/, bench/, crates/), and devDependencies, allowScripts and
// devEngines only concern this repository.
//
//   prepack:  node scripts/pack-manifest.mjs strip     (refuses a stale or missing dist/)
//   postpack: node scripts/pack-manifest.mjs restore
//
// `strip` saves the working manifest byte for byte to package.json.dev (restored by `restore`,
// and by the next `strip` if a pack was interrupted), so the working tree is left as it was.
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { distState } from './dist-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = join(root, 'package.json');
const saved = join(root, 'package.json.dev');

/** Fields of the published manifest, in this order; everything else is dropped. */
export const PUBLISHED_FIELDS = [
  'name',
  'version',
  'description',
  'keywords',
  'license',
  'author',
  'repository',
  'homepage',
  'bugs',
  'type',
  'engines',
  'bin',
  'main',
  'types',
  'exports',
  'files',
  'dependencies',
  'peerDependencies',
  'optionalDependencies',
];

export function publishedManifest(pkg) {
  const out = {};
  for (const k of PUBLISHED_FIELDS) if (pkg[k] !== undefined) out[k] = pkg[k];
  return out;
}

const cmd = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href ? process.argv[2] : undefined;
if (cmd === 'strip') {
  if (existsSync(saved)) renameSync(saved, manifest); // an interrupted pack left the stripped manifest in place
  const state = distState(root, { types: true });
  if (!state.current) {
    process.stderr.write(`pack: ${state.reason}; run \`npm run build\` first (the tarball ships dist/ as it is)\n`);
    process.exit(1);
  }
  copyFileSync(manifest, saved);
  writeFileSync(manifest, JSON.stringify(publishedManifest(JSON.parse(readFileSync(manifest, 'utf8'))), null, 2) + '\n');
} else if (cmd === 'restore') {
  if (existsSync(saved)) renameSync(saved, manifest);
} else if (cmd !== undefined || (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)) {
  process.stderr.write(`pack-manifest: unknown command ${cmd} (strip | restore)\n`);
  process.exit(2);
}
