#!/usr/bin/env bash
# Rust lint: formatting (rustfmt.toml; stable and Debian 1.63 rustfmt agree on it), clippy with
# warnings as errors on rustup stable and on Debian 1.63 (when rust-clippy is installed), and the
# tests built by Debian's rustc 1.63 (the wasm toolchain) with warnings as errors, examples
# included. crates/core/src/lp.rs is not formatted yet (#[rustfmt::skip] on its module in
# crates/core/src/lib.rs) while the simplex rewrite is on another branch.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "lint-rust: $*"; }

step "rustfmt $(rustfmt --version)"
cargo fmt --all -- --check
if [ -x /usr/bin/rustfmt ]; then
  step "rustfmt $(/usr/bin/rustfmt --version) (Debian)"
  /usr/bin/rustfmt --check --edition 2021 crates/core/src/lib.rs crates/wasm/src/lib.rs crates/core/examples/*.rs
fi

step "clippy $(cargo clippy --version)"
cargo clippy --all-targets -- -D warnings

# Debian's toolchain: cargo 0.66 with rustc/rustdoc/clippy 1.63 (cargo-clippy runs the `cargo`
# it finds first on PATH). Its own target directories, so that the two compilers never share
# build artefacts.
debian=(env PATH="/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc)
if [ -x /usr/bin/cargo-clippy ]; then
  step "clippy $(/usr/bin/cargo-clippy --version) (Debian)"
  "${debian[@]}" CARGO_TARGET_DIR=target/debian-clippy /usr/bin/cargo-clippy clippy --all-targets -- -D warnings
else
  step "no Debian clippy (apt-get install -y rust-clippy): skipped"
fi

step "cargo test with $(/usr/bin/rustc --version) (Debian), warnings as errors"
"${debian[@]}" RUSTFLAGS="-D warnings" CARGO_TARGET_DIR=target/debian /usr/bin/cargo test -q
step "passed"
