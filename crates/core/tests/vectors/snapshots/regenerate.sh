#!/bin/sh
# Regenerates the full encrypted YAML snapshots in yaml/ with the real sops.
#
# For every input ../yaml/NAME.yaml (NAME without a dot) that sops accepts:
#   yaml/NAME.enc.yaml  `sops encrypt --encrypted-regex '^nothing$' --age <recipient>` of it:
#                       an encrypted file whose values stay readable, metadata block included.
# Inputs sops refuses (they have a ../yaml/NAME.error.txt) get no snapshot.
#
# Usage: SOPS=/path/to/sops KEY=/path/to/age.key ./regenerate.sh
set -eu
SOPS=${SOPS:-/tmp/peervenv/bin/sops}
here=$(cd "$(dirname "$0")" && pwd)
KEY=${KEY:-$here/../sops/vec.key}
recipient=$(age-keygen -y "$KEY")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" # no .sops.yaml in effect; --config /dev/null as well
"$SOPS" --version --disable-version-check 2>/dev/null | head -n 1 > "$here/SOPS_VERSION"
rm -f "$here"/yaml/*.enc.yaml
for input in "$here"/../yaml/*.yaml; do
    name=$(basename "$input" .yaml)
    case $name in *.*) continue ;; esac
    cp "$input" in.yaml
    if "$SOPS" --config /dev/null encrypt --encrypted-regex '^nothing$' --age "$recipient" \
        in.yaml > enc.yaml 2> err.txt; then
        cp enc.yaml "$here/yaml/$name.enc.yaml"
    fi
done
