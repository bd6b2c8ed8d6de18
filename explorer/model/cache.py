"""The per-catalog cache: one helper, holding each catalog weakly (``per_catalog``); a few results kept by
the values they were computed from (``ByValue``); and a result kept on disk for the next kernel
(``on_disk``)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import weakref
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, TypeVar

from ..catalog import Catalog

T = TypeVar("T")
log = logging.getLogger(__name__)


def per_catalog(maxsize: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Cache ``fn(cat, *args)`` (hashable args) per catalog object, ``maxsize`` results per catalog.

    Each catalog gets its own ``functools.lru_cache``, held only as long as the catalog itself lives: a
    visitor's kernel makes a new catalog at every upload or removal, and the caches of the catalogs it
    dropped go with them (the cache holds the catalog weakly). The cached function's ``cache_clear``
    and the plain ``uncached`` are exposed.
    """

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        caches: dict[int, Callable[..., T]] = {}

        @wraps(fn)
        def cached(cat: Catalog, *args: Any) -> T:
            inner = caches.get(id(cat))
            if inner is None:
                ref = weakref.ref(cat)
                inner = lru_cache(maxsize=maxsize)(lambda *a: fn(ref(), *a))
                caches[id(cat)] = inner
                # the id may be reused once the catalog is gone: its cache must be gone first
                weakref.finalize(cat, caches.pop, id(cat), None)
            return inner(*args)

        cached.cache_clear = caches.clear  # type: ignore[attr-defined]
        cached.uncached = fn  # type: ignore[attr-defined]
        cached.caches = caches  # type: ignore[attr-defined]  # for tests: the catalogs cached now
        return cached

    return wrap


class ByValue:
    """The last ``maxsize`` results of a computation, kept under the values it reads (a hashable key of
    plain numbers and tuples: no catalog is held, so nothing outlives the catalog it came from); the oldest
    goes first. ``memo(key, compute)`` returns the kept result or ``compute()``'s; a key that cannot be
    hashed computes every time."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize, self.kept = maxsize, {}

    def __call__(self, key: Any, compute: Callable[[], T]) -> T:
        try:
            return self.kept[key]
        except KeyError:
            pass
        except TypeError:  # unhashable: a row holding a list
            return compute()
        value = compute()
        if len(self.kept) >= self.maxsize:
            self.kept.pop(next(iter(self.kept)))
        self.kept[key] = value
        return value


def cache_dir() -> Path:
    """Where results that outlive a kernel are kept: ``$XDG_CACHE_HOME/accel-explorer`` (``~/.cache``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "accel-explorer"


_CODE: str | None = None


def code_fingerprint() -> str:
    """A digest of the explorer's Python source and numpy's and pandas' versions: a result kept on disk
    under it is never read by code that would compute it differently."""
    global _CODE
    if _CODE is None:
        import numpy as np
        import pandas as pd

        h = hashlib.sha256(f"{np.__version__}|{pd.__version__}".encode())
        root = Path(__file__).resolve().parents[1]
        for f in sorted(root.rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
        _CODE = h.hexdigest()
    return _CODE


def on_disk(name: str, key: str, compute: Callable[[], T]) -> T:
    """``compute()``, kept as JSON in ``cache_dir()`` under ``name``, ``key`` and ``code_fingerprint()``:
    a new kernel reads what another computed. A file that cannot be read or written is recomputed (and
    logged), never an error."""
    digest = hashlib.sha256(f"{key}|{code_fingerprint()}".encode()).hexdigest()[:32]
    path = cache_dir() / f"{name}-{digest}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(value), encoding="utf-8")
        tmp.replace(path)  # atomic: concurrent kernels never read half a file
    except OSError as err:
        log.info("%s not kept on disk (%s)", name, err)
    return value
