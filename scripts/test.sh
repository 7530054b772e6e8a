#!/usr/bin/env bash
# The one test command (README "Test"; `.ci/run` runs exactly this): installs the missing peers,
# then formatting, lints, docs, every test (unit, integration, doctests, interop with real
# peers), fuzz and bench smoke runs, and finally checks that nothing wrote into the repository.
# Order as in STYLE §7. Any failing stage stops the run with a non-zero exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stage() { printf '\n==> %s\n' "$*"; }

stage "peers (scripts/setup-peers.sh)"
bash scripts/setup-peers.sh
# shellcheck source=/dev/null
. .peers/env
# A missing peer is a failure here, never a skip.
export AESEC_REQUIRE_PEERS=1

stage "cargo fmt --all --check"
cargo fmt --all --check

stage "cargo clippy --workspace --all-targets --locked -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

stage "cargo doc --workspace --no-deps --document-private-items (warnings denied)"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --document-private-items

stage "cargo test --workspace --locked"
# The interop tests run the `aesec` binary of another package (aesec-cli); build it up front so
# the harness (tests/src/lib.rs, aesec_bin) finds it up to date.
cargo build --locked -p aesec-cli --bin aesec
cargo test --workspace --locked

stage "example fleet (scripts/example-fleet.sh)"
AESEC_BIN="$PWD/target/debug/aesec" bash scripts/example-fleet.sh

stage "bench smoke (criterion benches run once in test mode)"
if compgen -G 'crates/*/benches/*.rs' >/dev/null; then
  cargo test --workspace --locked --bench '*'
else
  echo "skipping: no benches yet (crates/*/benches/)"
fi

stage "fuzz smoke (10 s per target)"
if [[ -f fuzz/Cargo.toml ]]; then
  bash fuzz/smoke.sh
else
  echo "skipping: no fuzz/Cargo.toml yet"
fi

stage "repository unchanged (git diff --exit-code)"
git diff --exit-code
untracked="$(git ls-files --others --exclude-standard)"
if [[ -n "$untracked" ]]; then
  printf 'untracked files appeared:\n%s\n' "$untracked" >&2
  exit 1
fi

stage "all stages passed"
