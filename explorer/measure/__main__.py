"""``python -m explorer.measure``: see explorer.measure.cli."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
