"""`python -m tests.adversarial [--core] [--area AREA ...] [-k TEXT] [-v]`: run the cases, print the table.

Exit status 1 if any case leaked, hung, lost data, ran an injection, gave an unclear error or broke.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict

from . import Context, Outcome, Result, load_cases, run_case

COLUMNS = [
    ("tried", None),
    ("held", Outcome.HELD),
    ("clear errors", Outcome.CLEAR_ERROR),
    ("unclear", Outcome.UNCLEAR),
    ("leaks", Outcome.LEAK),
    ("hangs", Outcome.HANG),
    ("data lost", Outcome.DATA_LOST),
    ("injections ran", Outcome.INJECTION),
    ("broken cases", Outcome.ERROR),
]


def table(results: list[Result]) -> str:
    """A plain-text table: one row per area and a total."""
    by_area: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        by_area[r.case.area][r.outcome] += 1
    rows = [["area", *(name for name, _ in COLUMNS)]]
    total: Counter = Counter()
    for area in sorted(by_area):
        counts = by_area[area]
        total.update(counts)
        rows.append([area, str(sum(counts.values())), *(str(counts[o]) for _, o in COLUMNS[1:])])
    rows.append(["total", str(sum(total.values())), *(str(total[o]) for _, o in COLUMNS[1:])])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.adversarial", description=__doc__)
    parser.add_argument("--core", action="store_true", help="only the fast core cases (as make test runs)")
    parser.add_argument("--area", action="append", help="only this area (repeatable)")
    parser.add_argument("-k", dest="keyword", help="only cases whose id contains this text")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case as it ends")
    args = parser.parse_args(argv)
    cases = [
        c
        for c in load_cases()
        if (not args.core or c.core)
        and (not args.area or c.area in args.area)
        and (not args.keyword or args.keyword.lower() in c.id.lower())
    ]
    ctx = Context()
    results = []
    t0 = time.monotonic()
    try:
        for c in cases:
            r = run_case(c, ctx)
            results.append(r)
            if args.verbose or not r.outcome.passed:
                mark = "ok  " if r.outcome.passed else "FAIL"
                extra = f" ({r.detail})" if r.detail else ""
                print(f"{mark} {c.id}: {r.outcome.value} in {r.seconds:.1f} s{extra}", flush=True)
    finally:
        ctx.close()
    print()
    print(table(results))
    failed = [r for r in results if not r.outcome.passed]
    print(f"\n{len(results)} cases in {time.monotonic() - t0:.0f} s; {len(failed)} failed.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
