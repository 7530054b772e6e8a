#!/usr/bin/env bash
# Regenerates the bundled example fleet in secrets/: DEMO keys, .sops.yaml and one encrypted
# file per sops store, encrypted by the REAL sops 3.11 (so the fleet is genuine sops output).
#
# The keys it makes are published in this repository and protect nothing: never reuse them.
# Running it again replaces every key and file (the committed fleet was made once).
# Needs: scripts/setup-peers.sh (sops, ssh-keygen) and a built aesec (cargo build -p aesec-cli).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# sops 3.11.0 through the one version-checked lookup ($SOPS, else .peers/venv, else PATH).
SOPS=$(bash "$root/scripts/find-peer.sh" sops)
aesec=${AESEC_BIN:-$root/target/debug/aesec}
fleet=$root/secrets
rm -rf "$fleet"
mkdir -p "$fleet/demo-keys" "$fleet/hosts"/{oracle,niobe,trinity}
cd "$fleet"

"$aesec" keys generate -o demo-keys/admin.agekey 2>/dev/null
admin=$(sed -n 's/^# public key: //p' demo-keys/admin.agekey)
declare -A host
for name in oracle niobe trinity; do
    ssh-keygen -q -t ed25519 -N '' -C "root@$name (DEMO host key)" -f "demo-keys/${name}_ssh_host_ed25519_key"
    host[$name]=$("$aesec" keys ssh-to-age -i "demo-keys/${name}_ssh_host_ed25519_key.pub")
done

cat > .sops.yaml <<YAML
# Example fleet for the aesec README and tests. Every key here is a DEMO key published in the
# repository (see demo-keys/README.md): this file shows the layout, it protects nothing.
keys:
  - &admin_demo $admin # admin (demo)
  - &oracle ${host[oracle]} # $(cut -d' ' -f1,2 demo-keys/oracle_ssh_host_ed25519_key.pub) oracle
  - &niobe ${host[niobe]} # $(cut -d' ' -f1,2 demo-keys/niobe_ssh_host_ed25519_key.pub) niobe
  - &trinity ${host[trinity]} # $(cut -d' ' -f1,2 demo-keys/trinity_ssh_host_ed25519_key.pub) trinity
creation_rules:
  - path_regex: ^hosts/oracle/
    key_groups:
      - age: [*admin_demo, *oracle]
  - path_regex: ^hosts/niobe/
    key_groups:
      - age: [*admin_demo, *niobe]
  - path_regex: ^hosts/trinity/
    key_groups:
      - age: [*admin_demo, *trinity]
  - path_regex: ^monitoring\.json$
    key_groups:
      - age: [*admin_demo, *oracle, *niobe]
  - path_regex: ^common\.yaml$
    key_groups:
      - age: [*admin_demo, *oracle, *niobe, *trinity]
YAML

cat > demo-keys/README.md <<'MD'
# DEMO keys — never use them for anything real

These keys are published in a public repository so that the example fleet can be decrypted by
anyone running the README quickstart and the tests:

- `admin.agekey`: the demo admin's age identity (decrypts every file in `secrets/`).
- `<host>_ssh_host_ed25519_key(.pub)`: demo SSH host keys of `oracle`, `niobe` and `trinity`;
  their ssh-to-age recipients are the anchors in `../.sops.yaml`.

Regenerate the whole fleet with `scripts/make-example-fleet.sh`.
MD

plain=$(mktemp -d); trap 'rm -rf "$plain"' EXIT
cat > "$plain/common.yaml" <<'YAML'
# Shared by every host.
ntp:
    servers:
        - 0.pool.ntp.org
        - 1.pool.ntp.org
smtp:
    relay_password: correct-horse-battery-staple
    port: 587
dns_api_token: 7f3c2a91-demo-token
YAML
cat > "$plain/monitoring.json" <<'JSON'
{
	"grafana": {
		"admin_password": "demo-grafana-password",
		"secret_key": "demo-secret-key"
	},
	"alertmanager": {
		"webhook_url": "https://hooks.example.invalid/demo"
	}
}
JSON
printf 'POSTGRES_USER=oracle\nPOSTGRES_PASSWORD=demo-postgres-password\n# rotated quarterly\nBACKUP_KEY=demo-backup-key\n' > "$plain/db.env"
printf '[server]\nlisten = 0.0.0.0:8443\nsession_secret = demo-session-secret\n\n[oidc]\nclient_secret = demo-oidc-secret\n' > "$plain/app.ini"
printf -- '-----BEGIN PRIVATE KEY-----\nDEMO-NOT-A-REAL-KEY\n-----END PRIVATE KEY-----\n' > "$plain/tls.key"
printf 'wireguard:\n    private_key: demo-wireguard-private-key\n    listen_port: 51820\n' > "$plain/wireguard.yaml"

encrypt() { # plaintext, destination (relative to the fleet)
    cp "$1" "$2"
    "$SOPS" encrypt -i "$2"
}
encrypt "$plain/common.yaml" common.yaml
encrypt "$plain/monitoring.json" monitoring.json
encrypt "$plain/db.env" hosts/oracle/db.env
encrypt "$plain/app.ini" hosts/niobe/app.ini
encrypt "$plain/tls.key" hosts/trinity/tls.key
encrypt "$plain/wireguard.yaml" hosts/trinity/wireguard.yaml
echo "example fleet written to $fleet"
