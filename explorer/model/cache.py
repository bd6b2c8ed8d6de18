"""The per-catalog cache: one helper, holding each catalog weakly (``per_catalog``)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar

from ..catalog import Catalog

T = TypeVar("T")


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
