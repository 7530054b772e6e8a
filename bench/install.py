#!/usr/bin/env python3
"""Times `aesec install` of a sops-nix manifest and writes its section of BENCHMARKS.md.

Usage: python3 bench/install.py [--files 50] [--keys 20] [--templates 10] [--runs 7]
                                [--loop-runs 1] [--out BENCHMARKS.md]

A generated host: FILES sops YAML files of KEYS secrets each (encrypted with `aesec encrypt` to
one age key), a manifest as sops-nix's NixOS module writes it naming every secret (FILES x KEYS
of them, nested keys with sops-nix's `/` separator, each with its own owner, mode and restart
unit) and TEMPLATES templates that each use ten secrets. Timed as whole processes:

- `aesec install --manifest M --mount never` into a temporary root (a fresh generation every
  run: the previous one stays live, as on a real switch), median of RUNS; the report's own
  split of that time into decryption (reading, decrypting, rendering) and writing (files,
  modes, the symlink swap, pruning) is shown beside it;
- the same secrets the way sops-nix's semantics are often reproduced by hand, one secret at a
  time: one `sops decrypt --extract '["a"]["b"]' FILE` per secret (sops-install-secrets itself
  is not installable here without network access to build it), LOOP-RUNS times.

Target (issue 9): 1,000 secrets from 50 files with 10 templates in under 150 ms.
The report goes between `<!-- install:begin -->` and `<!-- install:end -->`.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import ROOT, find_aesec, find_sops, write_section  # noqa: E402  (shared with bench/compare.py)

BEGIN, END = "<!-- install:begin -->", "<!-- install:end -->"
SECRETS_PER_TEMPLATE = 10


def keygen(aesec, home):
    """A fresh age identity file; returns (path, recipient)."""
    path = os.path.join(home, "key.txt")
    subprocess.run([aesec, "keys", "generate", "-o", path], check=True, capture_output=True)
    with open(path) as f:
        recipient = next(line.split(": ", 1)[1].strip() for line in f if "public key" in line)
    return path, recipient


def placeholder(index):
    """The placeholder of secret `index` (sops-nix derives it from a hash of the name)."""
    return f"<SOPS:{index:08x}:PLACEHOLDER>"


def make_host(aesec, home, files, keys, templates):
    """Writes the sops files and the manifest; returns (manifest path, [(file, section, key)])."""
    key_file, recipient = keygen(aesec, home)
    secrets = []
    sops_files = []
    for f in range(files):
        plain = os.path.join(home, f"plain{f}.yaml")
        half = keys // 2
        with open(plain, "w") as out:
            out.write("app:\n")
            for k in range(half):
                out.write(f"    key{k}: value-{f}-{k}-{'x' * 24}\n")
            for k in range(half, keys):
                out.write(f"key{k}: value-{f}-{k}-{'y' * 24}\n")
        encrypted = os.path.join(home, f"host{f}.yaml")
        with open(encrypted, "wb") as out:
            subprocess.run(
                [aesec, "encrypt", "--age", recipient, plain], check=True, stdout=out
            )
        os.remove(plain)
        sops_files.append(encrypted)
        for k in range(keys):
            key = f"app/key{k}" if k < half else f"key{k}"
            secrets.append((encrypted, key))
    run = os.path.join(home, "run")
    manifest = {
        "secrets": [
            {
                "name": f"s{i}/{key}",
                "key": key,
                "path": f"{run}/secrets/s{i}/{key}",
                "owner": "root",
                "uid": 0,
                "group": "root",
                "gid": 0,
                "sopsFile": file,
                "format": "yaml",
                "mode": "0400",
                "restartUnits": [f"svc{i % 25}.service"],
                "reloadUnits": [],
            }
            for i, (file, key) in enumerate(secrets)
        ],
        "templates": [
            {
                "name": f"t{t}.conf",
                "content": "".join(
                    f"v{j}={placeholder((t * SECRETS_PER_TEMPLATE + j) % len(secrets))}\n"
                    for j in range(SECRETS_PER_TEMPLATE)
                ),
                "path": f"{run}/secrets/rendered/t{t}.conf",
                "mode": "0400",
                "owner": "root",
                "uid": 0,
                "group": "root",
                "gid": 0,
                "file": "",
                "restartUnits": [f"tpl{t}.service"],
                "reloadUnits": [],
            }
            for t in range(templates)
        ],
        # As sops-nix's module writes it: a placeholder for every secret.
        "placeholderBySecretName": {
            f"s{i}/{key}": placeholder(i) for i, (_, key) in enumerate(secrets)
        },
        "secretsMountPoint": f"{run}/secrets.d",
        "symlinkPath": f"{run}/secrets",
        "keepGenerations": 1,
        "sshKeyPaths": None,
        "gnupgHome": "",
        "ageKeyFile": key_file,
        "ageSshKeyPaths": None,
        "useTmpfs": False,
        "userMode": False,
        "logging": {"keyImport": False, "secretChanges": False},
    }
    os.makedirs(os.path.join(run, "nixos"), exist_ok=True)
    path = os.path.join(home, "manifest.json")
    with open(path, "w") as out:
        json.dump(manifest, out)
    return path, key_file, secrets, run


def time_install(aesec, manifest, run):
    cmd = [
        aesec, "--json", "install", "--manifest", manifest, "--mount", "never",
        "--nixos-dir", os.path.join(run, "nixos"),
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, check=True, capture_output=True)
    wall = (time.perf_counter() - start) * 1000
    report = json.loads(done.stdout)
    return wall, report["decrypt_ms"], report["write_ms"], report["generation"]


def sops_path(key):
    return "".join(f'["{part}"]' for part in key.split("/"))


def time_loop(sops, key_file, secrets, home):
    env = dict(os.environ, SOPS_AGE_KEY_FILE=key_file, HOME=home)
    start = time.perf_counter()
    for file, key in secrets:
        subprocess.run(
            [sops, "decrypt", "--extract", sops_path(key), file],
            check=True, capture_output=True, env=env,
        )
    return (time.perf_counter() - start) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--templates", type=int, default=10)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--loop-runs", type=int, default=1)
    parser.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    args = parser.parse_args()

    aesec, sops = find_aesec(), find_sops()
    # On a RAM file system when there is one, as the generations are on a real host.
    ram = "/dev/shm" if os.path.isdir("/dev/shm") else None
    home = tempfile.mkdtemp(prefix="aesec-bench-install-", dir=ram)
    try:
        manifest, key_file, secrets, run = make_host(
            aesec, home, args.files, args.keys, args.templates
        )
        load_before = os.getloadavg()[0]
        installs = [time_install(aesec, manifest, run) for _ in range(args.runs)]
        loops = [time_loop(sops, key_file, secrets, home) for _ in range(args.loop_runs)]
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(home, ignore_errors=True)

    wall = statistics.median(i[0] for i in installs)
    decrypt = statistics.median(i[1] for i in installs)
    write = statistics.median(i[2] for i in installs)
    loop = statistics.median(loops)
    n = len(secrets)
    rows = [
        "| run | secrets | median wall time | decryption | writing |",
        "|---|---:|---:|---:|---:|",
        f"| `aesec install` ({args.files} files, {args.templates} templates) | {n:,} "
        f"| {wall:,.0f} ms | {decrypt:,.0f} ms | {write:,.0f} ms |",
        f"| {n:,} × `sops decrypt --extract PATH FILE` | {n:,} | {loop:,.0f} ms | — | — |",
    ]
    note = (
        f"\nWhole-process wall time on {os.cpu_count()} core(s) (1-minute load average "
        f"{load_before:.1f} before, {load_after:.1f} after): `aesec install` is the median of "
        f"{args.runs} runs, each making a new generation while the previous one stays live "
        f"(release build, `--mount never`, the host's run directory on {ram or 'disk'}, a RAM "
        f"file system as the mounted one would be); decryption and writing are the report's "
        f"own split of that run. The one-secret-at-a-time loop ran {args.loop_runs} time(s): "
        f"aesec is {loop / wall:,.0f}× faster. Target: 1,000 secrets from 50 files with 10 "
        f"templates under 150 ms. Generated by `python3 bench/install.py`.\n"
    )
    section = f"{BEGIN}\n" + "\n".join(rows) + "\n" + note + END
    write_section(args.out, BEGIN, END, section, "## Activation-time install (`python3 bench/install.py`)")
    print("\n".join(rows))
    print(note)


if __name__ == "__main__":
    main()
