"""``python -m bench [NAME ...]``: run the benchmarks, print a table, write bench/results.json."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from bench.report import Row, render, write_json

# Each module has BENCHES: {suite name: function returning rows}.
MODULES = (
    "daemon",
    "drivers",
    "capture",
    "quality",
    "package",
    "delivery",
    "tracking",
    "agreement_iris",
    "agreement_face",
    "agreement_fingerprint",
    "agreement_matching",
)
SUITES = {
    name: bench
    for module in MODULES
    for name, bench in importlib.import_module(f"bench.{module}").BENCHES.items()
}
RESULTS = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"suites to run (default all): {sorted(SUITES)}")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(SUITES)
    if unknown:
        parser.error(f"unknown suites {sorted(unknown)}; known: {sorted(SUITES)}")
    rows: list[Row] = []
    for name in args.names or SUITES:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(SUITES[name]())
    print(render(rows))
    write_json(rows, args.output)
    print(f"\nwritten to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
