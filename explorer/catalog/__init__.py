"""The catalog layer: load and validate ``catalog/`` into pandas, with provenance on every figure.

Imports pandas and the standard library only; nothing from the widget or chart layers.
"""

from __future__ import annotations

from .load import USER_CATALOG_ENV, Catalog, default_catalog_dir, load_catalog, read_documents
from .schema import FRAMEWORKS, KINDS, SEGMENTS, SUPPORT_LEVELS, CatalogError, Issue
from .units import UnitError, convert

__all__ = [
    "FRAMEWORKS",
    "KINDS",
    "SEGMENTS",
    "SUPPORT_LEVELS",
    "USER_CATALOG_ENV",
    "Catalog",
    "CatalogError",
    "Issue",
    "UnitError",
    "convert",
    "default_catalog_dir",
    "load_catalog",
    "read_documents",
]
