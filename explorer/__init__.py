"""The GPU-vs-accelerator deployment explorer: catalog -> calc -> charts -> widgets -> app."""

import sys as _sys

# jsonschema (imported by altair) imports rfc3987_syntax when it is installed (jupyter-events pulls it
# in), and that module compiles some 35 Earley parsers at import: 1.0 s of the 1.4 s `import altair`
# takes here, and 40 % of the CPU a visitor's kernel needs to start (python-jsonschema/jsonschema#1428).
# It serves only the `iri` string formats, which neither altair's nor Jupyter's schemas use, so a
# process that imports the explorer (a kernel, the CLI, the app's server) goes without it. Imported
# already (by a Jupyter server, say)? Then it stays as it is.
_sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
