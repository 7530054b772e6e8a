#!/usr/bin/env bash
# The main job on the bundled example fleet (README: "Try it on the example fleet").
#
# On a temporary copy of secrets/ it:
#   1. converts the demo hosts' SSH host keys to age recipients and checks them against the
#      anchors in .sops.yaml (what ssh-to-age would print);
#   2. decrypts every sops file with aesec as the demo admin and compares with real sops;
#   3. re-encrypts each file with aesec under its creation rule and checks that real sops
#      decrypts the result to the same plaintext (the round trip, both tools);
#   4. decrypts as each host with its SSH host key (aesec directly; sops with the key converted
#      to an age identity, as sops-nix does), and checks that a host cannot read another
#      host's files (exit 128).
# Needs scripts/setup-peers.sh to have run (it is part of scripts/test.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# sops 3.11.0 through the one version-checked lookup ($SOPS, else .peers/venv, else PATH).
SOPS=$(bash "$root/scripts/find-peer.sh" sops)
if [ -z "${AESEC_BIN:-}" ]; then
    cargo build --quiet -p aesec-cli --manifest-path "$root/Cargo.toml"
    AESEC_BIN=$root/target/debug/aesec
fi
aesec=$AESEC_BIN
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$root/secrets" "$work/fleet"
cd "$work/fleet"
export HOME=$work/home; mkdir -p "$HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_CMD SOPS_AGE_SSH_PRIVATE_KEY_FILE
export SOPS_AGE_KEY_FILE=$PWD/demo-keys/admin.agekey
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== ssh-to-age on the demo host keys"
for host in oracle niobe trinity; do
    recipient=$("$aesec" keys ssh-to-age -i "demo-keys/${host}_ssh_host_ed25519_key.pub")
    grep -q "&$host $recipient " .sops.yaml || fail "$host: $recipient is not the anchor in .sops.yaml"
    echo "   $host -> $recipient"
done

files=$(find . -type f ! -path './demo-keys/*' ! -name .sops.yaml | sed 's|^\./||' | sort)
echo "== decrypt and re-encrypt every file ($(echo "$files" | wc -l) files)"
for file in $files; do
    [ "$("$aesec" filestatus "$file")" = '{"encrypted":true}' ] || fail "$file: not encrypted"
    "$aesec" decrypt "$file" > "$work/aesec.out"
    "$SOPS" decrypt "$file" > "$work/sops.out"
    cmp -s "$work/aesec.out" "$work/sops.out" || fail "$file: aesec and sops decrypt differently"
    "$aesec" encrypt --filename-override "$file" < "$work/aesec.out" > "$work/reencrypted"
    cp "$work/reencrypted" "$file"
    "$SOPS" decrypt "$file" | cmp -s - "$work/sops.out" || fail "$file: sops cannot read aesec's re-encryption"
    echo "   $file: ok"
done

echo "== decrypt as each host with its SSH host key"
unset SOPS_AGE_KEY_FILE
for host in oracle niobe trinity; do
    export SOPS_AGE_SSH_PRIVATE_KEY_FILE=$PWD/demo-keys/${host}_ssh_host_ed25519_key
    "$aesec" decrypt common.yaml > /dev/null || fail "$host cannot read common.yaml"
    for other in oracle niobe trinity; do
        [ "$other" = "$host" ] && continue
        for file in hosts/$other/*; do
            set +e; "$aesec" decrypt "$file" > /dev/null 2>&1; code=$?; set -e
            [ "$code" = 128 ] || fail "$host could read $file (exit $code)"
        done
    done
    for file in hosts/$host/*; do
        "$aesec" decrypt "$file" > /dev/null || fail "$host cannot read its own $file"
        # sops-nix's way: the host key converted to an age identity, handed to sops.
        SOPS_AGE_SSH_PRIVATE_KEY_FILE= SOPS_AGE_KEY=$("$aesec" keys ssh-to-age --private-key \
            -i "demo-keys/${host}_ssh_host_ed25519_key") "$SOPS" decrypt "$file" > /dev/null \
            || fail "sops cannot read $file with $host's converted host key"
    done
    echo "   $host: reads common.yaml and hosts/$host/, not the others"
done

echo "== enroll a new host from its SSH host key (morpheus, like trinity), update keys, decrypt as it"
unset SOPS_AGE_SSH_PRIVATE_KEY_FILE
export SOPS_AGE_KEY_FILE=$PWD/demo-keys/admin.agekey
ssh-keygen -q -t ed25519 -N '' -C morpheus -f "$work/morpheus_ssh_host_ed25519_key"
"$aesec" enroll morpheus --key "$work/morpheus_ssh_host_ed25519_key.pub" --like trinity -y
morpheus=$("$aesec" keys ssh-to-age -i "$work/morpheus_ssh_host_ed25519_key.pub")
grep -q "&morpheus $morpheus " .sops.yaml || fail "morpheus: $morpheus is not the anchor in .sops.yaml"
"$aesec" enroll morpheus --key "$work/morpheus_ssh_host_ed25519_key.pub" --like trinity -y \
    | grep -q "already enrolled" || fail "enrolling the same key again changed something"
"$aesec" updatekeys -y --dry-run | grep -q "0 to re-wrap, 0 to rotate" \
    || fail "enroll left files out of line with .sops.yaml"
"$aesec" check > /dev/null || fail "aesec check after enroll"
"$aesec" status
unset SOPS_AGE_KEY_FILE
export SOPS_AGE_SSH_PRIVATE_KEY_FILE=$work/morpheus_ssh_host_ed25519_key
for file in common.yaml hosts/trinity/*; do
    "$aesec" decrypt "$file" > /dev/null || fail "morpheus cannot read $file"
    SOPS_AGE_SSH_PRIVATE_KEY_FILE= SOPS_AGE_KEY=$("$aesec" keys ssh-to-age --private-key \
        -i "$work/morpheus_ssh_host_ed25519_key") "$SOPS" decrypt "$file" > /dev/null \
        || fail "sops cannot read $file with morpheus' converted host key"
done
for file in hosts/oracle/* hosts/niobe/* monitoring.json; do
    set +e; "$aesec" decrypt "$file" > /dev/null 2>&1; code=$?; set -e
    [ "$code" = 128 ] || fail "morpheus could read $file (exit $code)"
done
echo "   morpheus: enrolled from its key, reads common.yaml and hosts/trinity/, not the others"
echo "example fleet: all checks passed"
