"""Checking the catalog from a terminal: ``python -m explorer.catalog check [--catalog DIR ...]``.

The same check and the same messages as ``accel-explorer catalog check`` (the command line calls `summary`
and `problem_lines` from here), without importing the command line: the catalog is the bottom layer.
Exit 0 with one summary line; exit 2 naming every problem (file, field, what is allowed); never a
traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from .load import USER_CATALOG_ENV, Catalog, load_catalog
from .schema import CatalogError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


def one_line(text: object) -> str:
    """A message as one terminal line: line breaks and control characters escaped."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", lambda m: repr(m.group())[1:-1], str(text))


def summary(cat: Catalog) -> str:
    """What a catalog that passed holds, as the check's one line."""
    counts = ", ".join(f"{len(cat.documents[c])} {c}" for c in cat.documents)
    return f"catalog OK: {counts}; {len(cat.provenance)} figures, each with a source"


def problem_lines(err: CatalogError, prog: str) -> list[str]:
    """A refused catalog as lines for stderr: one problem on one line, several as a list."""
    if len(err.issues) == 1:
        return [f"{prog}: the catalog has a problem: {one_line(err.issues[0])}"]
    return [
        f"{prog}: the catalog has {len(err.issues)} problem(s):",
        *(f"  {one_line(i)}" for i in err.issues),
    ]


def main(argv: Sequence[str] | None = None, prog: str = "python -m explorer.catalog") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description="Validate every catalog file; exit 2 listing every problem."
    )
    parser.add_argument("view", nargs="?", choices=["check"], default="check", help="check (the default)")
    parser.add_argument(
        "--catalog",
        metavar="DIR",
        action="append",
        default=[],
        help="a folder of your own catalog files, loaded over the built-in catalog (repeatable; folders in "
        f"${USER_CATALOG_ENV} are loaded too)",
    )
    args = parser.parse_args(argv)
    try:
        print(summary(load_catalog(*args.catalog)))
    except CatalogError as err:
        print("\n".join(problem_lines(err, prog)), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: one line, not a traceback
        print(f"{prog}: internal error ({type(err).__name__}: {one_line(err)[:300]})", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK
