#!/usr/bin/env python3
"""Shows how aesec's cost grows with the work, and writes the scaling table of BENCHMARKS.md.

Usage: python3 bench/scaling.py [--keys 2000,20000,200000] [--files 50,500,5000]
                                [--recipients 10] [--runs 5] [--out BENCHMARKS.md]

aesec alone (sops at these sizes takes minutes; bench/compare.py and bench/updatekeys.py
compare the two). Whole processes of the release build, median of RUNS:

- decrypt and encrypt of a flat YAML file of KEYS keys (32-character values), the files of
  bench/compare.py;
- in a repository of FILES small YAML files, each encrypted to RECIPIENTS age keys by one
  creation rule: `updatekeys -y` adding one recipient (one unwrap and one wrap per file, one
  fsync per file and per directory), `check` and `status` (keyless: read and parse every
  file). The files are 50 distinct encryptions copied round to FILES names (each file is
  read, unwrapped, wrapped and written on its own, so copies cost what distinct files do).

Each row prints the cost per key or per file: a flat column is cost linear in the work. The
floor beside each row is `aesec --version` (a process that does nothing). The report goes
between `<!-- scaling:begin -->` and `<!-- scaling:end -->`.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import ROOT, find_aesec, flat_doc, run, startup_floor, to_yaml, write_section  # noqa: E402
from updatekeys import generate_key, restore, snapshot, timed, write_config  # noqa: E402

BEGIN, END = "<!-- scaling:begin -->", "<!-- scaling:end -->"
DISTINCT_FILES = 50


def file_rows(aesec, work, env, sizes, runs):
    """Decrypt and encrypt of flat YAML files: (case, size, median seconds, peak RSS MiB)."""
    keyfile = env["SOPS_AGE_KEY_FILE"]
    recipient = next(l.split(": ", 1)[1].strip() for l in open(keyfile) if l.startswith("# public key: "))
    rows = []
    for n in sizes:
        plain = os.path.join(work, f"flat{n}.yaml")
        with open(plain, "w") as f:
            f.write(to_yaml(flat_doc(n)) + "\n")
        enc = os.path.join(work, f"flat{n}.enc.yaml")
        subprocess.run([aesec, "encrypt", "--age", recipient, "--output", enc, plain], env=env, check=True)
        for op, cmd in (("encrypt", [aesec, "encrypt", "--age", recipient, plain]),
                        ("decrypt", [aesec, "decrypt", enc])):
            results = [run(cmd, env, os.path.join(work, "out")) for _ in range(runs)]
            wall = statistics.median(wall for wall, _ in results)
            rss = max(peak for _, peak in results) / 1024
            rows.append((f"{op} flat yaml", n, wall, rss))
            print(f"  {op} flat yaml {n:>7,} keys: {wall * 1000:8.1f} ms, {wall / n * 1e6:6.2f} µs per key, "
                  f"peak RSS {rss:.1f} MiB", flush=True)
    return rows


def make_repo(aesec, work, files, recipients, env):
    """A repository of FILES copies of DISTINCT_FILES encrypted files; returns its path, the
    recipients and the paths."""
    repo = os.path.join(work, f"repo{files}")
    os.makedirs(os.path.join(repo, "secrets"))
    write_config(repo, recipients)
    distinct = []
    for i in range(min(files, DISTINCT_FILES)):
        name = f"secrets/app{i:04d}.yaml"
        plain = f"service: app{i}\ndatabase:\n    user: app{i}\n    password: p{i:04d}-{'x' * 24}\napi_token: t{i:04d}-{'y' * 28}\n"
        subprocess.run([aesec, "encrypt", "--filename-override", name, "--output", name], input=plain.encode(),
                       env=env, cwd=repo, check=True)
        distinct.append(os.path.join(repo, name))
    paths = list(distinct)
    for i in range(len(distinct), files):
        path = os.path.join(repo, f"secrets/app{i:04d}.yaml")
        shutil.copyfile(distinct[i % len(distinct)], path)
        paths.append(path)
    return repo, paths


def fleet_rows(aesec, work, env, sizes, recipients, runs):
    """updatekeys (+1 recipient), check and status: (case, files, median seconds)."""
    rows = []
    for files in sizes:
        repo, paths = make_repo(aesec, work, files, recipients[:-1], env)
        original = snapshot(paths)
        for case, cmd, config in (
            ("updatekeys +1 recipient", [aesec, "updatekeys", "-y"], recipients),
            ("check", [aesec, "check"], recipients[:-1]),
            ("status", [aesec, "status"], recipients[:-1]),
        ):
            write_config(repo, config)
            times = []
            for _ in range(runs):
                restore(original)
                times.append(timed(cmd, env, repo))
            wall = statistics.median(times)
            rows.append((case, files, wall))
            print(f"  {case:24} {files:>6,} files: {wall * 1000:8.1f} ms, {wall / files * 1000:6.3f} ms per file",
                  flush=True)
        shutil.rmtree(repo)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", default="2000,20000,200000")
    parser.add_argument("--files", default="50,500,5000")
    parser.add_argument("--recipients", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    args = parser.parse_args()
    aesec = find_aesec()
    work = tempfile.mkdtemp(prefix="aesec-bench-scaling-")
    keys = [os.path.join(work, f"key{i}.txt") for i in range(args.recipients + 1)]
    recipients = [generate_key(aesec, path) for path in keys]
    env = {"PATH": os.environ["PATH"], "HOME": work, "SOPS_AGE_KEY_FILE": keys[0]}
    load_before = os.getloadavg()[0]
    floor = startup_floor(aesec, env, args.runs)
    print(f"floor (aesec --version): {floor * 1000:.1f} ms", flush=True)
    started = time.perf_counter()
    files = file_rows(aesec, work, env, [int(s) for s in args.keys.split(",")], args.runs)
    fleet = fleet_rows(aesec, work, env, [int(s) for s in args.files.split(",")], recipients, args.runs)
    shutil.rmtree(work)
    load = (load_before, os.getloadavg()[0])
    print(f"done in {time.perf_counter() - started:.0f} s", flush=True)
    write_report(args, files, fleet, floor, load)


def write_report(args, files, fleet, floor, load):
    lines = [
        "| case | size | median wall time | above the floor | per unit (above the floor) | peak RSS |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for case, n, wall, rss in files:
        lines.append(f"| {case} | {n:,} keys | {wall * 1000:,.1f} ms | {(wall - floor) * 1000:,.1f} ms | "
                     f"{(wall - floor) / n * 1e6:.2f} µs per key | {rss:.1f} MiB |")
    for case, n, wall in fleet:
        lines.append(f"| `{case}` | {n:,} files | {wall * 1000:,.1f} ms | {(wall - floor) * 1000:,.1f} ms | "
                     f"{(wall - floor) / n * 1000:.3f} ms per file | — |")
    note = (
        f"aesec alone, whole-process wall time, median of {args.runs} runs on {os.cpu_count()} core(s) (1-minute load "
        f"average {load[0]:.1f} before, {load[1]:.1f} after: other builds share this machine and its disk, so the "
        f"fsync-bound `updatekeys` rows move with their I/O). Floor: `aesec --version` takes {floor * 1000:.1f} ms. "
        f"The repositories hold {DISTINCT_FILES} distinct files copied round to the size, each to "
        f"{args.recipients} recipients. Generated by `python3 bench/scaling.py`."
    )
    section = f"{BEGIN}\n" + "\n".join(lines) + f"\n\n{note}\n{END}"
    write_section(args.out, BEGIN, END, section, "## Scaling (`python3 bench/scaling.py`)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
