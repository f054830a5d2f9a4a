// `npm test`: the whole test suite, on a fresh machine of the kind CI uses (Debian 12, Node >= 20,
// rustup stable). It finds or installs what the suites need, then runs, in order:
//
//   build        esbuild bundles + type declarations (dist/)
//   wasm         pkg/*.wasm rebuilt byte for byte from crates/ with Debian's rustc 1.63
//   rust-stable  cargo test on rustup's stable toolchain (rust-toolchain.toml)
//   lint         `npm run lint`: Biome, then scripts/lint-rust.sh (rustfmt, clippy on stable and
//                Debian 1.63, cargo test on Debian's rustc 1.63 — the wasm toolchain — warnings as errors)
//   vitest       every test/*.test.ts: Node, Deno, Chromium, packaging, PyTorch example, ...
//
// Debian packages the steps need (rustc cargo libstd-rust-dev-wasm32 lld wabt chromium
// python3-torch python3-onnx python3-numpy; rust-clippy rustfmt with a lint script) are installed
// with apt-get when missing and running as root; otherwise the command says what to install and
// stops. `--no-install` never calls apt-get. Every step runs even when an earlier one failed
// (except what needs dist/), and a summary with durations ends the output; exit 1 if any failed.
//
// For quick loops while developing, run single suites directly: `npx vitest run test/cli.test.ts`
// (after `npm run build` when the test runs dist/), `cargo test -p relu-repair-core name`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
for (const a of args) {
  if (a !== '--no-install') {
    process.stderr.write(`test: unknown argument ${a} (only --no-install); to run some suites use \`npx vitest run test/x.test.ts\`\n`);
    process.exit(2);
  }
}
const noInstall = args.includes('--no-install');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const hasLint = typeof pkg.scripts?.lint === 'string';
const CARGO_DEBIAN = process.env.CARGO_DEBIAN ?? '/usr/bin/cargo';
const RUSTC_DEBIAN = process.env.RUSTC_DEBIAN ?? '/usr/bin/rustc';

const log = (s) => process.stdout.write(`${s}\n`);
const t0 = Date.now();

/** Runs a command with inherited output; returns true on exit 0. */
function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) {
    process.stderr.write(`test: cannot run ${cmd}: ${r.error.message}\n`);
    return false;
  }
  if (r.signal === 'SIGINT' || r.signal === 'SIGTERM') process.exit(130);
  return r.status === 0;
}
const quiet = (cmd, argv) => spawnSync(cmd, argv, { cwd: root, encoding: 'utf8' });

// ---- prerequisites -------------------------------------------------------------------------
const packages = [
  { pkg: 'rustc', why: 'wasm build, Rust tests on 1.63' },
  { pkg: 'cargo', why: 'wasm build, Rust tests on 1.63' },
  { pkg: 'libstd-rust-dev-wasm32', why: 'wasm build' },
  { pkg: 'lld', why: 'wasm build (linker)' },
  { pkg: 'wabt', why: 'wasm build (SIMD opcode check)' },
  { pkg: 'chromium', why: 'browser tests' },
  { pkg: 'python3-torch', why: 'PyTorch example' },
  { pkg: 'python3-onnx', why: 'PyTorch example' },
  { pkg: 'python3-numpy', why: 'PyTorch example' },
  ...(hasLint
    ? [
        { pkg: 'rust-clippy', why: 'lint' },
        { pkg: 'rustfmt', why: 'lint' },
      ]
    : []),
];

function prerequisites() {
  const dpkg = quiet('dpkg-query', ['--version']);
  if (dpkg.error) {
    log(
      `test: not a Debian system (no dpkg-query): make sure these are installed: ${packages.map((p) => p.pkg).join(' ')} (Debian names); continuing`,
    );
    return true;
  }
  const installed = (p) => /install ok installed/.test(quiet('dpkg-query', ['-W', `-f=$${'{'}Status}`, p]).stdout ?? '');
  let missing = packages.filter((p) => !installed(p.pkg));
  if (missing.length > 0) {
    const names = missing.map((p) => p.pkg);
    const root_ = typeof process.getuid === 'function' && process.getuid() === 0;
    if (noInstall || !root_ || quiet('apt-get', ['--version']).error) {
      process.stderr.write(
        `test: missing Debian packages:\n${missing.map((p) => `  ${p.pkg.padEnd(24)} (${p.why})`).join('\n')}\n` +
          `Install them with:\n  sudo apt-get install -y ${names.join(' ')}\n` +
          (noInstall ? '(--no-install: not installing them)\n' : root_ ? '' : '(npm test installs them itself when run as root)\n'),
      );
      return false;
    }
    log(`test: installing ${names.join(' ')} (apt-get; needed by the wasm, Rust, browser and PyTorch tests)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (
      !sh('apt-get', ['update', '-qq'], { env }) ||
      !sh('apt-get', ['install', '-y', '-qq', ...names], { env, stdio: ['ignore', 'ignore', 'inherit'] })
    ) {
      process.stderr.write(`test: apt-get could not install ${names.join(' ')}\n`);
      return false;
    }
    missing = packages.filter((p) => !installed(p.pkg));
    if (missing.length > 0) {
      process.stderr.write(`test: still missing after apt-get: ${missing.map((p) => p.pkg).join(' ')}\n`);
      return false;
    }
  }
  return true;
}

/** rustup's cargo (the stable toolchain of rust-toolchain.toml), or null with the reason. */
function rustupCargo() {
  const r = quiet('rustup', ['--version']);
  if (r.error) return { cargo: null, reason: 'rustup is not installed (https://rustup.rs; the native tests run on its stable toolchain)' };
  return { cargo: 'cargo', reason: '' };
}

// ---- steps ---------------------------------------------------------------------------------
const results = [];
function step(name, what, run) {
  log(`\n=== ${name}: ${what}`);
  const s = Date.now();
  let ok;
  try {
    ok = run();
  } catch (e) {
    process.stderr.write(`test: ${name}: ${e?.stack ?? e}\n`);
    ok = false;
  }
  const secs = (Date.now() - s) / 1000;
  results.push({ name, status: ok === 'skipped' ? 'skipped' : ok ? 'passed' : 'FAILED', secs });
  log(`=== ${name}: ${ok === 'skipped' ? 'skipped' : ok ? 'passed' : 'FAILED'} (${secs.toFixed(0)} s)`);
  return ok === true;
}

const loadAvg = () => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
};
log(
  `test: node ${process.version}, npm ${quiet('npm', ['--version']).stdout?.trim() ?? '?'}; load average ${loadAvg()}; ${new Date().toISOString()}`,
);
if (!existsSync(join(root, 'node_modules/vitest'))) {
  process.stderr.write('test: node_modules is missing: run `npm ci` first\n');
  process.exit(1);
}
const haveTools = step('prerequisites', 'Debian packages and toolchains', prerequisites);
if (!haveTools) {
  process.stderr.write('test: stopping: the test suites need the packages above\n');
  process.exit(1);
}
const built = step('build', 'dist/ (bundles and type declarations)', () => sh(process.execPath, [join(root, 'scripts/build.mjs')]));
step('wasm', 'pkg/*.wasm reproduced byte for byte by Debian rustc 1.63', () =>
  sh('bash', [join(root, 'scripts/build-wasm.sh'), '--check']),
);
const rs = rustupCargo();
step('rust-stable', 'cargo test, rustup stable', () => {
  if (!rs.cargo) {
    process.stderr.write(`test: ${rs.reason}\n`);
    return false;
  }
  log(quiet('rustc', ['--version']).stdout?.trim() ?? '');
  return sh(rs.cargo, ['test', '-q', '--offline', '--locked']);
});
// `npm run lint` ends with scripts/lint-rust.sh: rustfmt and clippy (stable and Debian 1.63) and
// `cargo test` built by Debian's rustc 1.63 with warnings as errors (the wasm toolchain).
if (hasLint) step('lint', 'npm run lint (Biome; Rust: rustfmt, clippy, cargo test on Debian 1.63)', () => sh('npm', ['run', '-s', 'lint']));
else
  step('rust-1.63', `cargo test, Debian ${quiet(RUSTC_DEBIAN, ['--version']).stdout?.trim() ?? RUSTC_DEBIAN}`, () =>
    // RUSTC/RUSTDOC explicitly: rustup's proxies come first on PATH and would pick stable.
    sh(CARGO_DEBIAN, ['test', '-q', '--offline', '--locked'], {
      env: {
        ...process.env,
        CARGO_TARGET_DIR: join(root, 'target/debian'),
        RUSTC: RUSTC_DEBIAN,
        RUSTDOC: join(dirname(RUSTC_DEBIAN), 'rustdoc'),
      },
    }),
  );

step('vitest', 'every test/*.test.ts', () => {
  if (!built) {
    process.stderr.write('test: vitest needs dist/ (the build failed)\n');
    return false;
  }
  // The PyTorch example test may only skip when torch is absent; here it is installed, so a
  // skip would hide a failure.
  return sh(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run'], {
    env: { ...process.env, RELU_REPAIR_REQUIRE_PYTORCH: '1' },
  });
});

const failed = results.filter((r) => r.status === 'FAILED');
log(`\n=== summary (${((Date.now() - t0) / 1000).toFixed(0)} s in all; load average now ${loadAvg()})`);
for (const r of results) log(`  ${r.status.padEnd(8)} ${r.name.padEnd(14)} ${r.secs.toFixed(0).padStart(5)} s`);
log(failed.length ? `npm test: ${failed.length} step(s) failed: ${failed.map((r) => r.name).join(', ')}` : 'npm test: all steps passed');
process.exit(failed.length ? 1 : 0);
