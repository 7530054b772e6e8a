#!/usr/bin/env bash
# Regenerates the YAML formatting snapshots from the inputs NAME.yaml with the real sops.
#   NAME.sops.yaml   `sops encrypt` output (nothing encrypted: --encrypted-regex '^nothing$')
#                    with the trailing `sops:` block of each document removed
#   NAME.plain.yaml  `sops decrypt` of that encrypted file (sops' plaintext YAML emitter)
#   NAME.error.txt   first stderr line when sops refuses the input
# Usage: SOPS=/path/to/sops ./regenerate.sh   (run from anywhere; needs the key in
# /work/shared/vectors/vec.key or VEC_KEY=...)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sops=${SOPS:-sops}
key=${VEC_KEY:-/work/shared/vectors/vec.key}
recipient=$(grep -o 'age1[a-z0-9]*' "$key" | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"   # no .sops.yaml here; --config /dev/null as well
for input in "$here"/*.yaml; do
    case "$input" in *.sops.yaml | *.plain.yaml) continue ;; esac
    name=$(basename "$input" .yaml)
    rm -f "$here/$name".{sops.yaml,plain.yaml,error.txt,plain-error.txt}
    cp "$input" "$work/in.yaml"
    if "$sops" --config /dev/null encrypt --age "$recipient" --encrypted-regex '^nothing$' \
        "$work/in.yaml" > "$work/enc.yaml" 2> "$work/err.txt"; then
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
