#!/usr/bin/env bash
# Regenerates every YAML vector made by the real sops, from the inputs NAME.yaml (NAME without a
# dot), in one pass so that they always agree:
#   NAME.sops.yaml   `sops encrypt` output (nothing encrypted: --encrypted-regex '^nothing$')
#                    with the trailing `sops:` block of each document removed
#   NAME.plain.yaml  `sops decrypt` of that encrypted file (sops' plaintext YAML emitter)
#   NAME.plain-error.txt  first stderr line when sops cannot decrypt what it wrote
#   NAME.error.txt   first stderr line when sops refuses the input
#   ../snapshots/yaml/NAME.enc.yaml  the whole encrypted file, `sops:` metadata included
# Also records the sops version in ../snapshots/SOPS_VERSION.
# Usage: ./regenerate.sh [NAME...]   (run from anywhere; SOPS=/path/to/sops must be sops 3.11.0,
# found by scripts/find-peer.sh; VEC_KEY defaults to ../sops/vec.key, a throwaway key). With
# NAMEs, only those inputs are regenerated (a new input's files, without re-encrypting the
# other snapshots); without, every input.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
snapshots=$here/../snapshots
sops=$(bash "$here/../../../../../scripts/find-peer.sh" sops)
key=${VEC_KEY:-$here/../sops/vec.key}
recipient=$(grep -o 'age1[a-z0-9]*' "$key" | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"   # no .sops.yaml here; --config /dev/null as well
"$sops" --version --disable-version-check 2>/dev/null | head -n 1 > "$snapshots/SOPS_VERSION"
if (($# == 0)); then
    rm -f "$snapshots"/yaml/*.enc.yaml
    inputs=("$here"/*.yaml)
else
    inputs=()
    for name in "$@"; do
        [[ -f "$here/$name.yaml" ]] || { echo "no input $here/$name.yaml" >&2; exit 1; }
        rm -f "$snapshots/yaml/$name.enc.yaml"
        inputs+=("$here/$name.yaml")
    done
fi
for input in "${inputs[@]}"; do
    name=$(basename "$input" .yaml)
    case "$name" in *.*) continue ;; esac
    rm -f "$here/$name".{sops.yaml,plain.yaml,error.txt,plain-error.txt}
    cp "$input" "$work/in.yaml"
    if "$sops" --config /dev/null encrypt --age "$recipient" --encrypted-regex '^nothing$' \
        "$work/in.yaml" > "$work/enc.yaml" 2> "$work/err.txt"; then
        cp "$work/enc.yaml" "$snapshots/yaml/$name.enc.yaml"
        awk '/^sops:$/ { skip = 1; next } /^---$/ { skip = 0 } !skip { print }' \
            "$work/enc.yaml" > "$here/$name.sops.yaml"
        if ! SOPS_AGE_KEY_FILE="$key" "$sops" --config /dev/null decrypt "$work/enc.yaml" \
            > "$here/$name.plain.yaml" 2> "$work/err.txt"; then
            # sops cannot read back what it wrote (e.g. a MAC mismatch after float re-typing)
            rm -f "$here/$name.plain.yaml"
            grep -v '^\[warning\]' "$work/err.txt" | head -n 1 > "$here/$name.plain-error.txt"
        fi
    else
        grep -v '^\[warning\]' "$work/err.txt" | head -n 1 > "$here/$name.error.txt"
    fi
done
