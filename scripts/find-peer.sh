#!/usr/bin/env bash
# Prints the path of a peer program after checking its version: the one lookup the scripts,
# the regeneration scripts and bench/*.py use (the Rust tests do the same in tests/src/lib.rs,
# `Peer::find`, with the same versions).
#
#   sops  3.11.0  `$SOPS` if set (and then only there), else .peers/venv/bin, else PATH
#   bao   2.7.x   `$BAO` likewise
#   age   1.1.x   PATH (Debian age)
#
# A set variable that names no executable, or a program of another version, is an error: a
# wrong or missing peer never falls back to another one silently.
#
# Usage: scripts/find-peer.sh sops|bao|age
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { printf 'find-peer: error: %s\n' "$*" >&2; exit 1; }

peer="${1:-}"
case "$peer" in
  sops) var=SOPS want=3.11.0 match='3.11.0' ;;
  bao) var=BAO want=2.7.x match='2.7.*' ;;
  age) var='' want=1.1.x match='1.1.*' ;;
  *) die "usage: find-peer.sh sops|bao|age" ;;
esac

if [[ -n "$var" && -n "${!var:-}" ]]; then
  path="${!var}"
  [[ -f "$path" && -x "$path" ]] || die "\$$var=$path is not an executable file (run scripts/setup-peers.sh and '. .peers/env')"
elif [[ -x "$root/.peers/venv/bin/$peer" ]]; then
  path="$root/.peers/venv/bin/$peer"
elif path="$(command -v "$peer")"; then
  :
else
  die "$peer not found (\$$var unset, not in .peers/venv/bin or PATH); run scripts/setup-peers.sh"
fi

# `|| true`: a program that prints no version is reported as the wrong version below.
case "$peer" in
  sops) version="$({ "$path" --version --disable-version-check || true; } 2>/dev/null | sed -n '1s/^sops \([^ ]*\).*/\1/p')" ;;
  bao) version="$({ "$path" version || true; } 2>/dev/null | sed -n '1s/^OpenBao v\([^ ]*\).*/\1/p')" ;;
  age) version="$({ "$path" --version || true; } 2>/dev/null | sed -n '1s/^v//p;1s/^\([0-9]\)/\1/p' | head -n 1)" ;;
esac
# shellcheck disable=SC2053 # $match is a glob on purpose
[[ "$version" == $match ]] || die "$path is $peer '${version:-?}', want $want"
printf '%s\n' "$path"
