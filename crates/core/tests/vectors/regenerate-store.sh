#!/bin/sh
# Regenerates the expected outputs of one store's vector directory (json, dotenv or ini) with
# the real sops binary.
#
# For every input NAME.EXT (NAME without a dot; golden.* files are copies of shared vectors):
#   NAME.sops.EXT  what `sops decrypt` prints after `sops encrypt --age <recipient>` of NAME.EXT,
#                  i.e. sops' canonical plaintext layout of the input;
#   NAME.enc.EXT   (JSON only) `sops encrypt --encrypted-regex '^nothing$'` of NAME.EXT, an
#                  encrypted file whose values stay readable.
# Inputs named fail_*.EXT must be rejected by `sops encrypt`; no output is written for them.
# A JSON input named indentN_* is processed with `stores: {json: {indent: N}}`.
#
# Usage: ./regenerate-store.sh json|dotenv|ini   (SOPS and KEY may point elsewhere;
# SOPS must be sops 3.11.0)
set -eu
vectors=$(cd "$(dirname "$0")" && pwd)
# sops 3.11.0 through the one version-checked lookup ($SOPS, else .peers/venv, else PATH).
SOPS=$(bash "$vectors/../../../../scripts/find-peer.sh" sops)
KEY=${KEY:-$vectors/sops/vec.key}
here=$vectors/${1:?usage: regenerate-store.sh json|dotenv|ini}
case $(basename "$here") in
json) ext=json ;;
dotenv) ext=env ;;
ini) ext=ini ;;
*) echo "unknown store directory $here" >&2; exit 1 ;;
esac
recipient=$(age-keygen -y "$KEY")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$SOPS" --version --disable-version-check 2>/dev/null | head -n 1 > "$here/SOPS_VERSION"
for input in "$here"/*."$ext"; do
    name=$(basename "$input" ".$ext")
    case $name in *.*) continue ;; esac
    indent=-1
    case $name in indent[0-9]*_*) indent=${name#indent}; indent=${indent%%_*} ;; esac
    printf 'stores:\n  json:\n    indent: %s\n' "$indent" > config.yaml
    cp "$input" "plain.$ext"
    case $name in
    fail_*)
        if "$SOPS" --config config.yaml encrypt --age "$recipient" "plain.$ext" > /dev/null 2>&1; then
            echo "sops accepted $input, which is named fail_" >&2
            exit 1
        fi
        continue
        ;;
    esac
    "$SOPS" --config config.yaml encrypt --age "$recipient" "plain.$ext" > "enc.$ext"
    SOPS_AGE_KEY_FILE=$KEY "$SOPS" --config config.yaml decrypt "enc.$ext" > "$here/$name.sops.$ext"
    if [ "$ext" = json ]; then
        "$SOPS" --config config.yaml encrypt --encrypted-regex '^nothing$' --age "$recipient" \
            "plain.$ext" > "$here/$name.enc.$ext"
    fi
done
