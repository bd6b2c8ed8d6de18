"""What an entry point does first, once per process (a kernel, the command line, the app's server).

Nothing here runs when it is imported, and importing the package changes nothing global: an entry point
calls `prepare_process` before it imports altair.
"""

from __future__ import annotations

import sys


def prepare_process() -> None:
    """Skip a parser nothing here uses, before altair is imported (it saves about 1 s per process).

    jsonschema (imported by altair) imports rfc3987_syntax when it is installed (jupyter-events pulls it
    in), and that module compiles some 35 Earley parsers at import: 1.0 s of the 1.4 s `import altair`
    takes here, and 40 % of the CPU a visitor's kernel needs to start (python-jsonschema/jsonschema#1428).
    It serves only the `iri` string formats, which neither altair's nor Jupyter's schemas use. Imported
    already (by a Jupyter server, say)? Then it stays as it is. Called after altair was imported, it
    changes nothing that matters.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
