#!/usr/bin/env bash
# Builds pkg/relu_repair_simd.wasm and pkg/relu_repair.wasm from crates/ with Debian's rustc 1.63
# (the only toolchain here with a wasm32 std). Byte-reproducible: source paths are remapped, so
# the output does not depend on where the checkout lives. `--check` rebuilds into a temporary
# directory and fails if pkg/ differs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
CARGO="${CARGO_DEBIAN:-/usr/bin/cargo}"
export RUSTC="${RUSTC_DEBIAN:-/usr/bin/rustc}"
if [ ! -x "$CARGO" ] || [ ! -x "$RUSTC" ]; then
  echo "build-wasm: needs Debian's cargo and rustc (apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld)" >&2
  exit 2
fi
check=0
[ "${1:-}" = "--check" ] && check=1
out="$root/pkg"
[ $check = 1 ] && out="$(mktemp -d)"
target="$root/target/wasm-build"
home_remap="${CARGO_HOME:-$HOME/.cargo}"
common="--remap-path-prefix=$root=/relu-repair --remap-path-prefix=$home_remap=/cargo -C link-arg=--no-entry"
build() { # $1 = extra rustflags, $2 = output name
  RUSTFLAGS="$common $1" CARGO_TARGET_DIR="$target/$2" \
    "$CARGO" build --locked --offline --release --target wasm32-unknown-unknown -p relu-repair-wasm -q
  cp "$target/$2/wasm32-unknown-unknown/release/relu_repair_wasm.wasm" "$out/$2.wasm"
}
build "-C target-feature=+simd128" relu_repair_simd
build "" relu_repair
if command -v wasm-objdump >/dev/null; then
  # Prove the SIMD build uses SIMD (0xfd-prefixed opcodes) and the scalar build does not.
  simd_ops=$(wasm-objdump -d "$out/relu_repair_simd.wasm" | grep -cE '^ *[0-9a-f]+: fd ' || true)
  scalar_ops=$(wasm-objdump -d "$out/relu_repair.wasm" | grep -cE '^ *[0-9a-f]+: fd ' || true)
  echo "build-wasm: SIMD opcodes: simd build $simd_ops, scalar build $scalar_ops"
  if [ "$simd_ops" -eq 0 ] || [ "$scalar_ops" -ne 0 ]; then
    echo "build-wasm: SIMD opcode check failed" >&2
    exit 1
  fi
fi
if [ $check = 1 ]; then
  status=0
  for f in relu_repair_simd.wasm relu_repair.wasm; do
    if ! cmp -s "$out/$f" "$root/pkg/$f"; then
      echo "build-wasm: pkg/$f differs from a fresh build of crates/ (rebuild with scripts/build-wasm.sh and commit)" >&2
      status=1
    fi
  done
  rm -rf "$out"
  [ $status = 0 ] && echo "build-wasm: pkg/ matches a fresh build"
  exit $status
fi
ls -l "$out"/*.wasm
