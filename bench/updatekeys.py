#!/usr/bin/env python3
"""Times whole-repository `aesec updatekeys` against the real sops and writes BENCHMARKS.md.

Usage: python3 bench/updatekeys.py [--files 500] [--recipients 10] [--runs 5] [--loop-runs 1]
                                   [--wrap-us MICROSECONDS] [--out BENCHMARKS.md]

A generated repository of FILES small YAML files, each encrypted (with `aesec encrypt`) to
RECIPIENTS age keys by the one creation rule of its `.sops.yaml`. Two changes of that rule are
timed as whole processes, restoring the files before every run:

- add one recipient: aesec `updatekeys -y` (re-wraps the data key), ONE `sops updatekeys -y`
  given every path, and a loop of one `sops updatekeys -y FILE` per file;
- remove one recipient: aesec `updatekeys -y` (new data keys, every value re-encrypted), and
  what sops needs for the same revocation: one `sops updatekeys -y` given every path, then
  one `sops rotate -i FILE` per file.

aesec and the single sops process are run RUNS times, alternating; the loops LOOP-RUNS times
(they are slow). Medians are reported, each aesec one with its floor beside it. The crypto
floor is the X25519 work the change needs, priced with the criterion benchmark `data_key` of crates/core/benches/crypto.rs (one age wrap:
an ephemeral key and one Diffie-Hellman; one unwrap: one Diffie-Hellman): per file one unwrap
plus one wrap for an added recipient, or one per remaining recipient of a new data key. Pass
--wrap-us/--unwrap-us to skip `cargo bench`.

The disk floor is the atomic replacement alone, as `aesec::fs` documents it, timed on the same
files with nothing else in the process's way: each file's bytes written to a new temporary
file beside it and flushed (32 threads at once, as aesec writes), then the renames one at a
time, then one flush of the directory. No tool can replace the files crash-safely for less on
this disk; the crypto floor on all cores plus the disk floor is what a safe run costs when the
two do not overlap (the disk floor alone when they overlap completely).
The report goes between `<!-- updatekeys:begin -->` and `<!-- updatekeys:end -->`;
bench/compare.py owns another section of the same file.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import ROOT, find_aesec, find_sops, write_section  # noqa: E402  (shared with bench/compare.py)

BEGIN, END = "<!-- updatekeys:begin -->", "<!-- updatekeys:end -->"


def timed(cmd, env, cwd):
    """Runs cmd in cwd; returns wall seconds. Exits on failure."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd[:4])}…\n{proc.stderr.decode(errors='replace')[-2000:]}")
    return wall


def timed_loop(cmds, env, cwd):
    """Runs every command of cmds in turn; returns the total wall seconds."""
    start = time.perf_counter()
    for cmd in cmds:
        proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode(errors='replace')[-2000:]}")
    return time.perf_counter() - start


def generate_key(aesec, path):
    subprocess.run([aesec, "keys", "generate", "-o", path], check=True, stderr=subprocess.DEVNULL)
    return next(l.split(": ", 1)[1].strip() for l in open(path) if l.startswith("# public key: "))


def write_config(repo, recipients):
    with open(os.path.join(repo, ".sops.yaml"), "w") as f:
        f.write("creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    key_groups:\n      - age:\n")
        for recipient in recipients:
            f.write(f"          - {recipient}\n")


def snapshot(paths):
    return {path: open(path, "rb").read() for path in paths}


def restore(state):
    for path, data in state.items():
        with open(path, "wb") as f:
            f.write(data)


def replace_all(state, threads=32):
    """Replaces every file of state with its bytes the way aesec::fs does (temporary file
    written and flushed in parallel, renames in turn, one directory flush); returns the wall
    seconds."""
    def stage(item):
        path, data = item
        temp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.floor")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return temp, path

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        staged = list(pool.map(stage, state.items()))
    for temp, path in staged:
        os.rename(temp, path)
    for directory in sorted({os.path.dirname(path) for path in state}):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return time.perf_counter() - start


def criterion_us(output, name):
    """The middle estimate of a criterion result line, in microseconds."""
    match = re.search(re.escape(name) + r"\s+time:\s+\[[^\]]*?([\d.]+) (ns|µs|us|ms) ([\d.]+) (ns|µs|us|ms)", output)
    if not match:
        sys.exit(f"no criterion result for {name} in:\n{output[-2000:]}")
    value, unit = float(match.group(3)), match.group(4)
    return value * {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3}[unit]


def crypto_costs(args):
    if args.wrap_us and args.unwrap_us:
        return args.wrap_us, args.unwrap_us
    proc = subprocess.run(["cargo", "bench", "-p", "aesec", "--bench", "crypto", "--", "data_key", "--quick"],
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"cargo bench failed:\n{proc.stderr[-2000:]}")
    text = proc.stdout + proc.stderr
    return criterion_us(text, "data_key/wrap_age_1_recipient"), criterion_us(text, "data_key/unwrap_age_1_recipient")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--recipients", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--loop-runs", type=int, default=1)
    parser.add_argument("--wrap-us", type=float, help="cost of one age wrap, µs (skips cargo bench)")
    parser.add_argument("--unwrap-us", type=float, help="cost of one age unwrap, µs (skips cargo bench)")
    parser.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    args = parser.parse_args()
    sops, aesec = find_sops(), find_aesec()
    wrap_us, unwrap_us = crypto_costs(args)
    args.load_before = os.getloadavg()[0]
    n, cores = args.files, os.cpu_count() or 1
    # The least X25519 work each change needs: one unwrap per file to recover its data key,
    # then one wrap for the added recipient (the other entries already wrap that key), or one
    # per remaining recipient of a new data key.
    floors = {
        "add": n * (unwrap_us + wrap_us) / 1e6,
        "remove": n * (unwrap_us + (args.recipients - 1) * wrap_us) / 1e6,
    }

    work = tempfile.mkdtemp(prefix="aesec-bench-updatekeys-")
    repo = os.path.join(work, "repo")
    os.makedirs(os.path.join(repo, "secrets"))
    keys = [os.path.join(work, f"key{i}.txt") for i in range(args.recipients + 1)]
    recipients = [generate_key(aesec, path) for path in keys]
    # The first key is the admin's, a recipient of every file in every configuration.
    env = {"PATH": os.environ["PATH"], "HOME": work, "SOPS_AGE_KEY_FILE": keys[0]}
    base = recipients[: args.recipients]
    write_config(repo, base)
    names = [f"secrets/app{i:03d}.yaml" for i in range(args.files)]
    print(f"generating {args.files} files × {args.recipients} recipients in {repo}", flush=True)
    for i, name in enumerate(names):
        plain = f"service: app{i}\ndatabase:\n    user: app{i}\n    password: p{i:04d}-{'x' * 24}\napi_token: t{i:04d}-{'y' * 28}\n"
        subprocess.run([aesec, "encrypt", "--filename-override", name, "--output", name], input=plain.encode(),
                       env=env, cwd=repo, check=True)
    paths = [os.path.join(repo, name) for name in names]
    original = snapshot(paths)

    def check_in_line():
        proc = subprocess.run([aesec, "check"], env=env, cwd=repo, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"aesec check after the run failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")

    results = {}
    disk_times = []
    for _ in range(args.runs):
        restore(original)
        disk_times.append(replace_all(original))
    disk = statistics.median(disk_times)
    print(f"disk floor (the atomic replacement of {n} files alone): {disk * 1000:.1f} ms (median of {args.runs})", flush=True)

    def measure(label, cmd_or_cmds, runs, loop=False):
        times = []
        for _ in range(runs):
            restore(original)
            times.append(timed_loop(cmd_or_cmds, env, repo) if loop else timed(cmd_or_cmds, env, repo))
        check_in_line()
        results[label] = statistics.median(times)
        print(f"  {label:48} {results[label] * 1000:9.1f} ms (median of {runs})", flush=True)

    def beside_floor(label):
        """The crypto floor of an aesec case, printed beside its result."""
        case, tool = label.split("/")
        if tool == "aesec":
            floor = floors[case]
            print(f"  {'':48} floor {floor * 1000:7.1f} ms on 1 core, {floor / cores * 1000:.1f} ms on {cores}: "
                  f"aesec takes {results[label] / (floor / cores):.1f}× the all-core floor, "
                  f"{results[label] / (floor / cores + disk):.1f}× that floor plus the disk's", flush=True)

    def alternate(cases, runs):
        """Runs several single-process cases alternately, RUNS times each."""
        times = {label: [] for label, _ in cases}
        for _ in range(runs):
            for label, cmd in cases:
                restore(original)
                times[label].append(timed(cmd, env, repo))
                check_in_line()
        for label, _ in cases:
            results[label] = statistics.median(times[label])
            print(f"  {label:48} {results[label] * 1000:9.1f} ms (median of {runs})", flush=True)
            beside_floor(label)

    # Add one recipient: a re-wrap.
    print("add one recipient", flush=True)
    write_config(repo, base + [recipients[args.recipients]])
    alternate([("add/aesec", [aesec, "updatekeys", "-y"]),
               ("add/sops-one", [sops, "updatekeys", "-y"] + names)], args.runs)
    measure("add/sops-loop", [[sops, "updatekeys", "-y", name] for name in names], args.loop_runs, loop=True)

    # Remove one recipient: a rotation.
    print("remove one recipient", flush=True)
    write_config(repo, base[:-1])
    alternate([("remove/aesec", [aesec, "updatekeys", "-y"])], args.runs)
    measure("remove/sops", [[sops, "updatekeys", "-y"] + names] + [[sops, "rotate", "-i", name] for name in names],
            args.loop_runs, loop=True)
    restore(original)
    shutil.rmtree(work)

    args.load_after = os.getloadavg()[0]
    write_report(args, results, floors, disk, wrap_us, unwrap_us)


def write_report(args, results, floors, disk, wrap_us, unwrap_us):
    cores = os.cpu_count() or 1
    n, r = args.files, args.recipients

    def row(case, tool, seconds, ratio_to=None):
        speed = f"{seconds / results[ratio_to]:.1f}×" if ratio_to else "—"
        return f"| {case} | {tool} | {seconds * 1000:,.0f} ms | {speed} |"

    lines = [
        f"| change ({n} files × {r} recipients) | run | median wall time | aesec is faster by |",
        "|---|---|---:|---:|",
        row("add 1 recipient", "`aesec updatekeys -y`", results["add/aesec"]),
        row("add 1 recipient", f"one `sops updatekeys -y` with {n} paths", results["add/sops-one"], "add/aesec"),
        row("add 1 recipient", f"{n} × `sops updatekeys -y FILE`", results["add/sops-loop"], "add/aesec"),
        row("remove 1 recipient", "`aesec updatekeys -y` (new data keys)", results["remove/aesec"]),
        row("remove 1 recipient", f"one `sops updatekeys -y` + {n} × `sops rotate -i FILE`", results["remove/sops"], "remove/aesec"),
    ]
    floor_lines = [
        "| change | X25519 work | crypto floor, 1 core | floor / aesec (1 core) | floor / aesec (all cores) | aesec ÷ all-core floor "
        "| disk floor | all-core floor + disk floor | aesec ÷ that | the speed-up target's time budget |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    targets = {"add": ("add/sops-one", 20), "remove": ("remove/sops", 50)}
    for case, wraps in (("add", 1), ("remove", r - 1)):
        floor, took = floors[case], results[f"{case}/aesec"]
        peer, speedup = targets[case]
        safe = floor / cores + disk
        floor_lines.append(
            f"| {case} 1 recipient | {n} unwraps + {n * wraps:,} wraps | {floor * 1000:,.0f} ms | "
            f"{floor / took * 100:.0f}% | {floor / cores / took * 100:.0f}% | {took / (floor / cores):.1f}× "
            f"| {disk * 1000:,.0f} ms | {safe * 1000:,.0f} ms | {took / safe:.1f}× "
            f"| {results[peer] / speedup * 1000:,.0f} ms ({speedup}×) |")
    text = "\n".join(lines) + "\n\n" + "\n".join(floor_lines)
    note = (
        f"Whole-process wall time on {cores} core(s) (1-minute load average {args.load_before:.1f} before, "
        f"{args.load_after:.1f} after: other jobs share the machine): aesec and the single sops process are the median of "
        f"{args.runs} alternating runs, the per-file loops of {args.loop_runs}; the files are restored before every run "
        f"and `aesec check` confirms each result. The crypto floor prices the X25519 work alone with "
        f"`cargo bench -p aesec --bench crypto -- data_key`{' (run separately and passed with --wrap-us/--unwrap-us)' if args.wrap_us and args.unwrap_us else ''}: "
        f"one age wrap {wrap_us:.1f} µs, one unwrap {unwrap_us:.1f} µs. The add floor counts one wrap per file because aesec keeps the entries of recipients "
        f"that stay (sops re-wraps all {r + 1}: {n * (r + 1):,} wraps). aesec also checks each new file before any is "
        f"replaced (values decrypted, MAC verified, the data key unwrapped from the new entries: for a re-wrap that "
        f"is the entry the file was opened with, which it remembers; for a new data key one more unwrap per file), "
        f"and writes as `aesec::fs` documents: each file opened, re-encrypted, checked, written to a temporary file "
        f"and flushed on its own, 32 at a time, so the flushes overlap the other files' work; then the renames and one "
        f"fsync of the directory. The crypto floor leaves out that disk time. "
        f"The disk floor is that replacement alone (the same files, written and flushed by 32 threads, renamed, the "
        f"directory flushed; median of {args.runs}): what a crash-safe tool pays on this disk before any parsing or "
        f"cryptography. The last column is the wall time the issue's speed-up target allows (the sops run divided by "
        f"20 or 50). "
        f"\"floor / aesec\" is the share of aesec's wall time that this work needs on one "
        f"core (and spread over all cores). Generated by `python3 bench/updatekeys.py`."
    )
    section = f"{BEGIN}\n{text}\n\n{note}\n{END}"
    write_section(args.out, BEGIN, END, section, "## Fleet updatekeys (`python3 bench/updatekeys.py`)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
