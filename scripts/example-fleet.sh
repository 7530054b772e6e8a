#!/usr/bin/env bash
# The main job on the bundled example fleet (README: "Quickstart"). Needs only the Rust
# toolchain; the real sops 3.11.0, when installed, adds cross-checks.
#
# On a temporary copy of secrets/ it:
#   1. converts the demo hosts' SSH host keys to age recipients and checks them against the
#      anchors in .sops.yaml (what ssh-to-age would print);
#   2. decrypts every sops file with aesec as the demo admin, re-encrypts it under its creation
#      rule and decrypts the result again to the same plaintext;
#   3. decrypts as each host with its SSH host key and checks that a host cannot read another
#      host's files (exit 128);
#   4. enrolls a new host (morpheus, like trinity) with a generated host key, brings its key
#      out as nixos-anywhere would get it, enrolls the same key again (nothing changes), checks
#      the tree is in line (`updatekeys --dry-run`, `check`), prints `status`, and decrypts as
#      the new host.
#
# With sops 3.11.0 (found as scripts/find-peer.sh finds it: $SOPS, .peers/venv from
# scripts/setup-peers.sh, or PATH) it also checks that sops decrypts every file as aesec does,
# reads aesec's re-encryptions, and decrypts as each host with the host key converted to an
# age identity (as sops-nix does). Without it, it says so and runs aesec alone; under
# AESEC_REQUIRE_PEERS=1 (scripts/test.sh) a missing sops is a failure.
#
# AESEC_BIN names the aesec binary to run; otherwise it is built with cargo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

if [ -z "${AESEC_BIN:-}" ]; then
    # The path cargo reports, wherever the target directory is (CARGO_TARGET_DIR, config).
    AESEC_BIN=$(cargo build --quiet -p aesec-cli --bin aesec --manifest-path "$root/Cargo.toml" \
        --message-format=json-render-diagnostics \
        | sed -n 's/.*"executable":"\([^"]*\/aesec\)".*/\1/p' | tail -n 1)
    [ -n "$AESEC_BIN" ] || fail "cargo built no aesec binary"
fi
aesec=$AESEC_BIN

# sops 3.11.0 through the one version-checked lookup, or none.
if SOPS=$(bash "$root/scripts/find-peer.sh" sops 2> "$work/find-peer.err"); then
    echo "== cross-checks against real sops: on ($SOPS)"
else
    SOPS=
    [ "${AESEC_REQUIRE_PEERS:-}" = 1 ] \
        && fail "AESEC_REQUIRE_PEERS=1 but no sops 3.11.0: $(cat "$work/find-peer.err")"
    echo "== cross-checks against real sops: off, aesec alone ($(sed 's/^find-peer: error: //' "$work/find-peer.err"))"
    echo "   scripts/setup-peers.sh installs sops 3.11.0 (scripts/test.sh runs it) to add them"
fi
# Runs its arguments only when sops is there.
with_sops() { [ -z "$SOPS" ] || "$@"; }

cp -r "$root/secrets" "$work/fleet"
cd "$work/fleet"
export HOME=$work/home; mkdir -p "$HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_CMD SOPS_AGE_SSH_PRIVATE_KEY_FILE
export SOPS_AGE_KEY_FILE=$PWD/demo-keys/admin.agekey

echo "== ssh-to-age on the demo host keys"
for host in oracle niobe trinity; do
    recipient=$("$aesec" keys ssh-to-age -i "demo-keys/${host}_ssh_host_ed25519_key.pub")
    grep -q "&$host $recipient " .sops.yaml || fail "$host: $recipient is not the anchor in .sops.yaml"
    echo "   $host -> $recipient"
done

# Whether sops decrypts $1 to the plaintext in $2.
sops_reads() {
    "$SOPS" decrypt "$1" | cmp -s - "$2" || fail "$1: sops decrypts it differently from aesec"
}

files=$(find . -type f ! -path './demo-keys/*' ! -name .sops.yaml | sed 's|^\./||' | sort)
echo "== decrypt and re-encrypt every file as the admin ($(echo "$files" | wc -l) files)"
for file in $files; do
    [ "$("$aesec" filestatus "$file")" = '{"encrypted":true}' ] || fail "$file: not encrypted"
    "$aesec" decrypt "$file" > "$work/plain"
    with_sops sops_reads "$file" "$work/plain"
    "$aesec" encrypt --filename-override "$file" < "$work/plain" > "$work/reencrypted"
    cp "$work/reencrypted" "$file"
    "$aesec" decrypt "$file" | cmp -s - "$work/plain" || fail "$file: aesec's re-encryption reads differently"
    with_sops sops_reads "$file" "$work/plain"
    echo "   $file: ok"
done

# Whether sops reads $2 with host key $1 converted to an age identity (sops-nix's way).
sops_reads_as_host() {
    SOPS_AGE_SSH_PRIVATE_KEY_FILE= SOPS_AGE_KEY=$("$aesec" keys ssh-to-age --private-key -i "$1") \
        "$SOPS" decrypt "$2" > /dev/null || fail "sops cannot read $2 with the converted host key $1"
}

# Whether the host whose key is in SOPS_AGE_SSH_PRIVATE_KEY_FILE is refused each file (exit 128).
refused() {
    for file in "$@"; do
        set +e; "$aesec" decrypt "$file" > /dev/null 2>&1; code=$?; set -e
        [ "$code" = 128 ] || fail "$SOPS_AGE_SSH_PRIVATE_KEY_FILE could read $file (exit $code)"
    done
}

echo "== decrypt as each host with its SSH host key"
unset SOPS_AGE_KEY_FILE
for host in oracle niobe trinity; do
    export SOPS_AGE_SSH_PRIVATE_KEY_FILE=$PWD/demo-keys/${host}_ssh_host_ed25519_key
    for other in oracle niobe trinity; do
        [ "$other" = "$host" ] || refused hosts/"$other"/*
    done
    for file in common.yaml hosts/$host/*; do
        "$aesec" decrypt "$file" > /dev/null || fail "$host cannot read $file"
        with_sops sops_reads_as_host "$SOPS_AGE_SSH_PRIVATE_KEY_FILE" "$file"
    done
    echo "   $host: reads common.yaml and hosts/$host/, not the others"
done

echo "== enroll a new host (morpheus, like trinity) with a generated host key, decrypt as it"
unset SOPS_AGE_SSH_PRIVATE_KEY_FILE
export SOPS_AGE_KEY_FILE=$PWD/demo-keys/admin.agekey
"$aesec" enroll morpheus --generate --like trinity -y
# The key as nixos-anywhere would install it (decrypted by the admin).
"$aesec" bootstrap morpheus --out "$work/morpheus"
key=$work/morpheus/etc/ssh/ssh_host_ed25519_key
morpheus=$("$aesec" keys ssh-to-age -i "$key.pub")
grep -q "&morpheus $morpheus " .sops.yaml || fail "morpheus: $morpheus is not the anchor in .sops.yaml"
"$aesec" enroll morpheus --key "$key.pub" --like trinity -y \
    | grep -q "already enrolled" || fail "enrolling the same key again changed something"
"$aesec" updatekeys -y --dry-run | grep -q "0 to re-wrap, 0 to rotate" \
    || fail "enroll left files out of line with .sops.yaml"
"$aesec" check > /dev/null || fail "aesec check after enroll"
"$aesec" status
unset SOPS_AGE_KEY_FILE
export SOPS_AGE_SSH_PRIVATE_KEY_FILE=$key
for file in common.yaml hosts/trinity/*; do
    "$aesec" decrypt "$file" > /dev/null || fail "morpheus cannot read $file"
    with_sops sops_reads_as_host "$key" "$file"
done
refused hosts/oracle/* hosts/niobe/* hosts/morpheus/ssh_host_ed25519_key monitoring.json
echo "   morpheus: enrolled, reads common.yaml and hosts/trinity/, not the others nor its stored key"

if [ -n "$SOPS" ]; then
    echo "example fleet: all checks passed (aesec, cross-checked against sops at $SOPS)"
else
    echo "example fleet: all checks passed (aesec alone; no sops 3.11.0, so no cross-checks)"
fi
