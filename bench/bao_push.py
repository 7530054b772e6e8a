#!/usr/bin/env python3
"""Times `aesec bao push` against a naive write-everything loop and writes BENCHMARKS.md.

Usage: python3 bench/bao_push.py [--secrets 500] [--changed 10] [--runs 5] [--out BENCHMARKS.md]

A generated repository: one sops file (age, made with `aesec encrypt`) with SECRETS subtrees of
two values each, and an `.aesec.yaml` publishing each subtree to its own KV v2 path. A real
`bao server -dev` runs on 127.0.0.1 with a file audit device, so the requests are counted by
OpenBao itself (one audit response entry per request). After a first push, each run changes
CHANGED values with `aesec set` and times, as whole processes:

- `aesec bao push -y`: one metadata read per path, writes only for the changed ones;
- the naive loop: one `aesec decrypt` of the file, then one KV write per secret over one
  keep-alive HTTP connection (Python's http.client), what a script that writes everything does.

Medians of RUNS runs are reported, with requests and new KV versions per run. aesec needs a
release build (`cargo build --release -p aesec-cli`; `AESEC_BIN` overrides the path) and bao
(`scripts/setup-peers.sh`). The report goes between `<!-- bao-push:begin -->` and
`<!-- bao-push:end -->`.
"""

import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import ROOT, write_section  # noqa: E402  (shared with bench/compare.py)

MOUNT = "kv-k8s"


def find_peer(name):
    found = subprocess.run(
        ["bash", os.path.join(ROOT, "scripts/find-peer.sh"), name], stdout=subprocess.PIPE, text=True
    )
    if found.returncode != 0:
        sys.exit(f"{name} not usable (see above): run scripts/setup-peers.sh first")
    return found.stdout.strip()


def find_aesec():
    path = os.environ.get("AESEC_BIN") or os.path.join(ROOT, "target/release/aesec")
    if not os.path.exists(path):
        subprocess.run(["cargo", "build", "--release", "-p", "aesec-cli"], cwd=ROOT, check=True)
    return path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bao:
    """A dev server with a KV v2 mount and a file audit device, killed at exit."""

    def __init__(self, bao, home):
        self.port = free_port()
        self.token = "bench-" + secrets.token_hex(16)
        self.env = dict(os.environ, HOME=home, BAO_ADDR=f"http://127.0.0.1:{self.port}", BAO_TOKEN=self.token)
        self.audit = os.path.join(home, "audit.log")
        # A declarative audit device: OpenBao 2 refuses to create one through the API.
        config = os.path.join(home, "audit.hcl")
        with open(config, "w") as out:
            out.write(f'audit "file" "bench" {{\n  options {{\n    file_path = "{self.audit}"\n  }}\n}}\n')
        self.proc = subprocess.Popen(
            [bao, "server", "-dev", "-dev-no-store-token", f"-dev-listen-address=127.0.0.1:{self.port}",
             f"-dev-root-token-id={self.token}", f"-config={config}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env,
        )
        for _ in range(300):
            try:
                if self.request("GET", "/v1/sys/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("bao dev server did not start")
        self.request("POST", f"/v1/sys/mounts/{MOUNT}", {"type": "kv", "options": {"version": "2"}})

    def request(self, method, path, body=None, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port)
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"X-Vault-Token": self.token, "Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        if own:
            conn.close()
        return response.status, data

    def requests_so_far(self):
        """Requests answered so far, counted from the audit log's response entries."""
        with open(self.audit) as log:
            return sum(1 for line in log if '"type":"response"' in line)

    def versions(self, n):
        total = 0
        for i in range(n):
            status, data = self.request("GET", f"/v1/{MOUNT}/metadata/bench/apps/s{i:04d}")
            total += json.loads(data)["data"]["current_version"] if status == 200 else 0
        return total

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def run(cmd, env, cwd, stdin=None):
    subprocess.run(cmd, env=env, cwd=cwd, check=True, input=stdin, stdout=subprocess.PIPE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=500)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    args = parser.parse_args()
    aesec, bao_bin = find_aesec(), find_peer("bao")

    with tempfile.TemporaryDirectory(prefix="aesec-bench-bao-") as home:
        repo = os.path.join(home, "repo")
        os.makedirs(os.path.join(repo, "k8s"))
        bao = Bao(bao_bin, home)
        try:
            env = dict(bao.env, SOPS_AGE_KEY_FILE=os.path.join(home, "key.txt"))
            run([aesec, "keys", "generate", "-o", env["SOPS_AGE_KEY_FILE"]], env, home)
            with open(env["SOPS_AGE_KEY_FILE"]) as key:
                recipient = next(line.split(": ")[1].strip() for line in key if "public key" in line)
            with open(os.path.join(repo, ".sops.yaml"), "w") as config:
                config.write(f"creation_rules:\n  - age: {recipient}\n")
            with open(os.path.join(repo, "k8s/apps.yaml"), "w") as plain:
                for i in range(args.secrets):
                    plain.write(f"s{i:04d}:\n  user: user{i}\n  password: {secrets.token_hex(16)}\n")
            run([aesec, "encrypt", "-i", "k8s/apps.yaml"], env, repo)
            with open(os.path.join(repo, ".aesec.yaml"), "w") as mapping:
                mapping.write(f"bao:\n  kv_mount: {MOUNT}\n  publish:\n")
                for i in range(args.secrets):
                    mapping.write(f"    - {{file: k8s/apps.yaml, keys: '[\"s{i:04d}\"]', path: bench/apps/s{i:04d}}}\n")
            run([aesec, "bao", "push", "-y", "-q"], env, repo)

            def change(run_index):
                for i in range(args.changed):
                    key = f'["s{i * (args.secrets // args.changed):04d}"]["password"]'
                    run([aesec, "set", "k8s/apps.yaml", key, json.dumps(f"run-{run_index}")], env, repo)

            rows = {"aesec": [], "naive": []}
            for r in range(args.runs):
                change(r)
                before = (bao.requests_so_far(), bao.versions(args.secrets))
                start = time.perf_counter()
                run([aesec, "bao", "push", "-y", "-q"], env, repo)
                wall = time.perf_counter() - start
                after = (bao.requests_so_far(), bao.versions(args.secrets))
                # The version count reads one metadata per secret: leave those out.
                rows["aesec"].append((wall, after[0] - before[0] - args.secrets, after[1] - before[1]))

                before = (bao.requests_so_far(), bao.versions(args.secrets))
                start = time.perf_counter()
                plain = subprocess.run([aesec, "decrypt", "--output-type", "json", "k8s/apps.yaml"], env=env,
                                       cwd=repo, check=True, stdout=subprocess.PIPE).stdout
                conn = http.client.HTTPConnection("127.0.0.1", bao.port)
                for name, values in json.loads(plain).items():
                    status, _ = bao.request("POST", f"/v1/{MOUNT}/data/bench/apps/{name}", {"data": values}, conn)
                    assert status == 200, status
                conn.close()
                wall = time.perf_counter() - start
                after = (bao.requests_so_far(), bao.versions(args.secrets))
                rows["naive"].append((wall, after[0] - before[0] - args.secrets, after[1] - before[1]))
            load = os.getloadavg()[0]
        finally:
            bao.stop()

    def median(name, column):
        return statistics.median(row[column] for row in rows[name])

    aesec_ms, naive_ms = median("aesec", 0) * 1000, median("naive", 0) * 1000
    table = [
        "<!-- bao-push:begin -->",
        f"| push of {args.secrets} mapped secrets, {args.changed} changed | median wall time | requests | new KV versions |",
        "|---|---:|---:|---:|",
        f"| `aesec bao push -y` | {aesec_ms:,.0f} ms | {median('aesec', 1):,.0f} | {median('aesec', 2):,.0f} |",
        f"| naive: `aesec decrypt` + one write per secret | {naive_ms:,.0f} ms | {median('naive', 1):,.0f} | "
        f"{median('naive', 2):,.0f} |",
        "",
        f"Whole-process wall time, median of {args.runs} runs on {os.cpu_count()} core(s) (1-minute load average "
        f"{load:.1f}: other jobs share the machine), against a real `bao server -dev` on 127.0.0.1. Requests are "
        "counted by OpenBao's file audit device; the naive loop writes from Python over one keep-alive "
        "connection. aesec makes one metadata read per secret and, per changed secret, "
        "one check-and-set write and one metadata patch; the unchanged ones get no write and no new version. "
        "Generated by `python3 bench/bao_push.py`.",
        "<!-- bao-push:end -->",
    ]
    text = "\n".join(table)
    print(text)
    write_section(args.out, table[0], table[-1], text, "## Publishing to OpenBao (`python3 bench/bao_push.py`)")


if __name__ == "__main__":
    main()
