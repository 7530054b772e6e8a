#!/usr/bin/env python3
"""Checks that the core crate's modules import only from the floors below them.

The floors, top to bottom, are listed in FLOORS (the crate docs' map says the same). A module
may use `crate::X` only for an X on a lower floor; two modules on one floor may not use each
other. Test code is exempt: files named `tests.rs` or `test_support.rs`, anything under a
`tests/` directory, comment lines, and everything from a `#[cfg(test)]` line to the end of a file (our test
modules close each file). Run by scripts/test.sh; prints every offending line and exits 1.
"""

import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "crates" / "core" / "src"

# Highest floor first. Modules not listed here are an error, so a new module gets a floor.
FLOORS = [
    ["fuzzing"],
    ["deploy"],
    ["fleet"],
    ["install"],
    ["file"],
    ["config", "sops"],
    ["store"],
    ["keys"],
    ["tree", "gofmt", "secret"],
    ["fs", "progress", "process"],
]
EXEMPT = {"test_support"}

FLOOR_OF = {module: len(FLOORS) - index for index, floor in enumerate(FLOORS) for module in floor}
USE = re.compile(r"\bcrate::([a-z_]+)")


def production_text(path: pathlib.Path) -> str:
    text = path.read_text()
    cut = text.find("#[cfg(test)]")
    return text if cut < 0 else text[:cut]


def top_module(path: pathlib.Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".rs")


def main() -> int:
    errors = []
    for path in sorted(SRC.rglob("*.rs")):
        relative = path.relative_to(SRC)
        if relative.name in ("lib.rs", "tests.rs", "test_support.rs") or "tests" in relative.parts:
            continue
        module = top_module(path)
        if module in EXEMPT:
            continue
        if module not in FLOOR_OF:
            errors.append(f"{relative}: module `{module}` has no floor in scripts/check-layers.py")
            continue
        for number, line in enumerate(production_text(path).splitlines(), start=1):
            if line.lstrip().startswith("//"):
                continue
            for used in USE.findall(line):
                if used == module or used in EXEMPT:
                    continue
                if used not in FLOOR_OF:
                    errors.append(f"{relative}:{number}: `crate::{used}` has no floor")
                elif FLOOR_OF[used] >= FLOOR_OF[module]:
                    errors.append(
                        f"{relative}:{number}: `{module}` (floor {FLOOR_OF[module]}) uses "
                        f"`crate::{used}` (floor {FLOOR_OF[used]}): {line.strip()}"
                    )
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print(f"{len(errors)} import(s) against the floors", file=sys.stderr)
        return 1
    print(f"layers: every import in {SRC.relative_to(SRC.parent.parent.parent)} runs downward")
    return 0


if __name__ == "__main__":
    sys.exit(main())
