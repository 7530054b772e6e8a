#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/<target>/, gitignored) with the golden vectors made by
# real sops (crates/core/tests/vectors/**): each store target gets the files of its format, and
# `open` gets every encrypted vector (all formats, including the binary envelope). `tamper` gets
# one input per file it edits (the first byte picks the golden vector or a file of
# vectors/tamper/, see fuzz_targets/tamper.rs) with no edit, and one with a few edits. `config`
# gets the `.sops.yaml` editor's vectors and every `.sops.yaml` of the repository.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vectors="$here/../crates/core/tests/vectors"
corpus="$here/corpus"

# seed TARGET FIND-ARGS...: copy the matching vectors, named by their path under vectors/.
seed() {
    local target="$1"
    shift
    mkdir -p "$corpus/$target"
    find "$vectors" -type f "$@" -print0 |
        while IFS= read -r -d '' file; do
            local name="${file#"$vectors"/}"
            cp "$file" "$corpus/$target/${name//\//_}"
        done
}

seed yaml \( -name '*.yaml' -o -name '*.yml' \)
seed json -name '*.json'
seed dotenv -name '*.env'
seed ini -name '*.ini'
seed open \( -name '*.enc.*' -o -name '*.sops.*' -o -name '*.bin' \)

mkdir -p "$corpus/tamper"
# Sixteen edits of every kind (op, two path bytes, two more bytes, arguments): libFuzzer starts
# its length limit at the longest input, so the fuzzer chains several edits from the start.
edits=""
for op in 0 1 2 3 4 5 6 7 8 9 10 11 12 0 4 6; do
    edits+="\\x$(printf %02x "$op")\\x00\\x0$((op % 8))\\x00\\x01\\x02\\x03\\x00"
done
for choice in 0 1 2; do
    printf "\\x0$choice" >"$corpus/tamper/seed-$choice"
    printf "\\x0$choice$edits" >"$corpus/tamper/seed-$choice-edits"
done

# config: the editor's vectors and every .sops.yaml of the repository (the example fleet's and
# the corpus projects').
seed config -path '*/sops-config/*.yaml'
find "$here/.." \( -path "$here/corpus" -o -name target -o -name .git \) -prune -o \
    -type f -name .sops.yaml -print0 |
    while IFS= read -r -d '' file; do
        name="${file#"$here/../"}"
        cp "$file" "$corpus/config/${name//\//_}"
    done

for target in yaml json dotenv ini open tamper config; do
    echo "seeded $target: $(find "$corpus/$target" -type f | wc -l) files"
done
