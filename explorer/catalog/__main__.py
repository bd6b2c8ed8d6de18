"""``python -m explorer.catalog check [DIR ...]``: the same as ``accel-explorer catalog check``."""

from __future__ import annotations

import sys

from explorer.cli import main

if __name__ == "__main__":
    sys.exit(main(["catalog", *sys.argv[1:]]))
