// Is dist/ a build of the current sources? scripts/build.mjs writes dist/.build-stamp.json with a
// hash of everything the bundles and declarations are made from; `npm run demo` and `npm pack`
// compare it with the working tree, so a current dist/ is used as it is and a stale one is never
// run or shipped. A content hash, not file times: a fresh clone or a `git checkout` sets every
// mtime to "now", which would make a time stamp lie in both directions.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const STAMP = 'dist/.build-stamp.json';

/** Source files of the build: ts/**, the data the bundles embed, the build script and configs. */
function inputs(root) {
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(join(root, 'ts'));
  // ts/ imports these data files (the demo job, embedded at build time).
  for (const f of readdirSync(join(root, 'test/fixtures/hcas')))
    if (/\.(nnet|json)$/.test(f)) files.push(join(root, 'test/fixtures/hcas', f));
  for (const f of ['scripts/build.mjs', 'package.json', 'tsconfig.json']) files.push(join(root, f));
  return files.map((f) => relative(root, f).split('\\').join('/')).sort();
}

/** sha256 over the build's inputs (names and contents). */
export function inputsHash(root) {
  const h = createHash('sha256');
  for (const f of inputs(root)) {
    let data = readFileSync(join(root, f));
    // The packed manifest differs from the working one only in fields the build does not read.
    if (f === 'package.json') data = Buffer.from(JSON.stringify(buildRelevantManifest(JSON.parse(data.toString('utf8')))));
    h.update(f).update('\0').update(data).update('\0');
  }
  return h.digest('hex');
}

/** The manifest fields the build reads (dependencies are externals, the version is embedded). */
function buildRelevantManifest(pkg) {
  return { name: pkg.name, version: pkg.version, dependencies: pkg.dependencies ?? {} };
}

/**
 * `{ current, reason }`: current when dist/ has a stamp whose hash equals the sources' and every
 * entry file exists; `types: true` also requires the declarations.
 */
export function distState(root, opts = {}) {
  const stampPath = join(root, STAMP);
  if (!existsSync(stampPath)) return { current: false, reason: 'dist/ has not been built' };
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampPath, 'utf8'));
  } catch {
    return { current: false, reason: `${STAMP} is unreadable` };
  }
  for (const f of stamp.files ?? []) if (!existsSync(join(root, 'dist', f))) return { current: false, reason: `dist/${f} is missing` };
  if (opts.types && !stamp.types) return { current: false, reason: 'dist/ was built without type declarations' };
  if (stamp.inputs !== inputsHash(root)) return { current: false, reason: 'the sources changed since dist/ was built' };
  return { current: true, reason: 'dist/ is current' };
}
