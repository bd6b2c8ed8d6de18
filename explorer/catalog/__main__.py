"""``python -m explorer.catalog check [--catalog DIR ...]``: the same as ``accel-explorer catalog check``."""

from __future__ import annotations

import sys

from .check import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
