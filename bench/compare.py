#!/usr/bin/env python3
"""Times aesec against the real sops on the same files and writes BENCHMARKS.md.

Usage: python3 bench/compare.py [--runs N] [--sizes 2000,20000] [--out BENCHMARKS.md]

Needs `sops` (scripts/setup-peers.sh installs it into .peers/venv) and a release build of
aesec (`cargo build --release -p aesec-cli`). Each case is run N times per tool, alternating,
as a whole process; the median wall time and the largest peak RSS (from wait4's rusage) are
reported. The files are generated here: flat and nested YAML and JSON with 2,000 and 20,000
keys of 32-character values. Beside each result it prints the floor: the wall time of
`aesec --version` (a process that does nothing), and how far above it aesec is.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_section(path, begin, end, section, heading):
    """Puts `section` (from its `begin` marker to its `end` marker) into the Markdown file at
    `path`: in place of the section between those markers, else appended under `heading`. Every
    bench script writes its part of BENCHMARKS.md through this."""
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if begin in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1] if end in rest else ""
        text = head + section + tail
    else:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n{section}\n"
    with open(path, "w") as f:
        f.write(text)


def find_sops():
    """sops 3.11.0 through the one version-checked lookup, scripts/find-peer.sh (`$SOPS` if set,
    else .peers/venv/bin, else PATH); exits with its message when sops is missing or wrong."""
    found = subprocess.run(
        ["bash", os.path.join(ROOT, "scripts/find-peer.sh"), "sops"], stdout=subprocess.PIPE, text=True
    )
    if found.returncode != 0:
        sys.exit("sops not usable (see above): run scripts/setup-peers.sh first")
    return found.stdout.strip()


def find_aesec():
    """The release binary, in $CARGO_TARGET_DIR (as cargo puts it) or target/; built if missing."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    path = os.path.join(target, "release/aesec")
    if not os.path.exists(path):
        subprocess.run(["cargo", "build", "--release", "-p", "aesec-cli"], cwd=ROOT, check=True)
    return path


def startup_floor(aesec, env, runs):
    """The least any aesec run costs: the median wall time of `aesec --version` (exec, the
    dynamic loader, main), measured like the cases."""
    times = [run([aesec, "--version"], env, os.devnull)[0] for _ in range(max(runs, 5))]
    return statistics.median(times)


def value(i):
    return f"v{i:031d}"


def flat_doc(n):
    return {f"key{i}": value(i) for i in range(n)}


def nested_doc(n):
    groups = max(1, n // 20)
    return {f"group{g}": {f"key{i}": value(g * 20 + i) for i in range(20)} for g in range(groups)}


def to_yaml(doc, indent=0):
    lines = []
    for key, val in doc.items():
        if isinstance(val, dict):
            lines.append(" " * indent + f"{key}:")
            lines.append(to_yaml(val, indent + 4))
        else:
            lines.append(" " * indent + f"{key}: {val}")
    return "\n".join(lines)


def run(cmd, env, stdout_path):
    """Runs cmd, returns (wall seconds, peak RSS KiB)."""
    start = time.perf_counter()
    with open(stdout_path, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{stderr}")
    return wall, usage.ru_maxrss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    parser.add_argument("--sizes", default="2000,20000")
    args = parser.parse_args()
    sops, aesec = find_sops(), find_aesec()
    work = tempfile.mkdtemp(prefix="aesec-bench-")
    keyfile = os.path.join(work, "key.txt")
    subprocess.run([aesec, "keys", "generate", "-o", keyfile], check=True)
    recipient = next(l.split(": ", 1)[1] for l in open(keyfile) if l.startswith("# public key: "))
    env = {"PATH": os.environ["PATH"], "HOME": work, "SOPS_AGE_KEY_FILE": keyfile}
    load_before = os.getloadavg()[0]
    floor = startup_floor(aesec, env, args.runs)
    print(f"floor (aesec --version): {floor*1000:.1f} ms", flush=True)
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        for shape, make in (("flat", flat_doc), ("nested", nested_doc)):
            doc = make(n)
            for fmt in ("yaml", "json"):
                plain = os.path.join(work, f"{shape}{n}.{fmt}")
                with open(plain, "w") as f:
                    f.write(to_yaml(doc) + "\n" if fmt == "yaml" else json.dumps(doc, indent="\t") + "\n")
                enc = os.path.join(work, f"{shape}{n}.enc.{fmt}")
                subprocess.run([sops, "--config", "/dev/null", "encrypt", "--age", recipient, "--output", enc, plain], env=env, check=True)
                cases = {
                    "encrypt": lambda tool: [tool, "--config", "/dev/null", "encrypt", "--age", recipient, plain],
                    "decrypt": lambda tool: [tool, "--config", "/dev/null", "decrypt", enc],
                }
                for op, cmd in cases.items():
                    times = {"sops": [], "aesec": []}
                    rss = {"sops": 0, "aesec": 0}
                    for _ in range(args.runs):
                        for name, tool in (("sops", sops), ("aesec", aesec)):
                            wall, peak = run(cmd(tool), env, os.path.join(work, "out"))
                            times[name].append(wall)
                            rss[name] = max(rss[name], peak)
                    s, a = statistics.median(times["sops"]), statistics.median(times["aesec"])
                    rows.append((f"{op} {shape} {fmt}", n, s, a, s / a, a - floor, rss["sops"] / 1024, rss["aesec"] / 1024))
                    print(f"{op:8} {shape:6} {fmt:4} {n:6}: sops {s*1000:8.1f} ms  aesec {a*1000:7.1f} ms  x{s/a:6.1f}  "
                          f"floor {floor*1000:5.1f} ms (aesec {a - floor:+.3f} s above it)  "
                          f"RSS {rss['sops']/1024:6.1f} / {rss['aesec']/1024:5.1f} MiB", flush=True)
    shutil.rmtree(work)
    load = (load_before, os.getloadavg()[0])
    write_report(args.out, rows, args.runs, floor, load)


def write_report(path, rows, runs, floor, load):
    lines = [
        "| case | keys | sops (median) | aesec (median) | speed-up | aesec above the floor | sops peak RSS | aesec peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case, n, s, a, ratio, above, rs, ra in rows:
        lines.append(f"| {case} | {n:,} | {s*1000:.1f} ms | {a*1000:.1f} ms | {ratio:.1f}× | {above*1000:.1f} ms | {rs:.1f} MiB | {ra:.1f} MiB |")
    table = "\n".join(lines)
    begin, end = "<!-- file-ops:begin -->", "<!-- file-ops:end -->"
    note = (
        f"Whole-process wall time on {os.cpu_count()} core(s) (1-minute load average {load[0]:.1f} before, "
        f"{load[1]:.1f} after: other jobs share the machine), median of {runs} alternating runs per tool; peak RSS "
        f"is the largest of those runs. Floor: `aesec --version`, a process that does nothing, takes "
        f"{floor*1000:.1f} ms. Generated by `python3 bench/compare.py`."
    )
    section = f"{begin}\n{table}\n\n{note}\n{end}"
    write_section(path, begin, end, section, "## Single-file encrypt and decrypt (`python3 bench/compare.py`)")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
