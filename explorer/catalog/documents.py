"""Reading a catalog's folders: find its TOML files, parse them, merge user folders over the built-in
one and validate every document against the schema (``explorer.catalog.schema``), then cross-check them.

``explorer.catalog.load`` builds the frames from what this returns.
"""

from __future__ import annotations

import errno
import os
import stat
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import schema
from .files import MAX_TOML_BYTES, InputRefused, load_toml_file
from .schema import CatalogError, Issue

COLLECTIONS = ("devices", "prices", "workloads", "results", "regions", "pue", "assumptions", "apis", "market")

#: Environment variable naming user catalog folders (os.pathsep-separated), loaded after the built-in one.
USER_CATALOG_ENV = "ACCEL_EXPLORER_CATALOG"


def default_catalog_dir() -> Path:
    """The built-in catalog: a copy inside an installed wheel, or the repository's ``catalog/``."""
    packaged = Path(__file__).resolve().parent.parent / "_catalog"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "catalog"


# -- reading files ------------------------------------------------------------------------------------


def user_dirs_from_env() -> list[Path]:
    raw = os.environ.get(USER_CATALOG_ENV, "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


#: A catalog folder is read to this many entries (files and folders together); past it, one issue says so.
MAX_FOLDER_ENTRIES = 10_000


def folder_problem(root: Path) -> str | None:
    """Why `root` cannot be a catalog folder, or None if it is one."""
    try:
        st = os.stat(root)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "is a symbolic link that leads back to itself (a loop); give a catalog folder"
        if root.is_symlink():
            return "is a symbolic link to a folder that does not exist; give a catalog folder"
        return "catalog folder does not exist"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a folder; give a folder with the catalog's layout (devices/, prices/ ...)"
    return None


def _list_dir(path: Path, budget: list[int]) -> list[os.DirEntry[str]] | None:
    """The entries of one folder, sorted by name, counted against `budget`; None if unreadable."""
    out = []
    try:
        with os.scandir(path) as it:
            for entry in it:
                budget[0] -= 1
                if budget[0] < 0:
                    break
                out.append(entry)
    except OSError:
        return None
    return sorted(out, key=lambda e: e.name)


def _is_dir(entry: os.DirEntry[str], follow: bool) -> bool:
    try:
        return entry.is_dir(follow_symlinks=follow)
    except OSError:
        return False


def toml_files(root: Path, budget: list[int]) -> tuple[list[tuple[Path, bool]], bool]:
    """``(path, in_place)`` for *.toml files up to two folders down; and whether the budget ran out.

    ``in_place`` is true for ``<collection>/<file>.toml``. Collection folders may be symbolic links; no
    other link to a folder is followed, and nothing deeper than two folders is read, so a catalog
    folder given as ``/`` or holding a link loop is scanned in bounded time.
    """
    found: list[tuple[Path, bool]] = []
    top = _list_dir(root, budget) or []
    for entry in top:
        if entry.name.endswith(".toml") and not _is_dir(entry, True):
            found.append((Path(entry.path), False))
        elif _is_dir(entry, entry.name in COLLECTIONS):
            sub = _list_dir(Path(entry.path), budget) or []
            for e in sub:
                if e.name.endswith(".toml") and not _is_dir(e, True):
                    found.append((Path(e.path), entry.name in COLLECTIONS))
                elif entry.name in COLLECTIONS and _is_dir(e, False):
                    for deeper in _list_dir(Path(e.path), budget) or []:
                        if deeper.name.endswith(".toml"):
                            found.append((Path(deeper.path), False))
    return found, budget[0] < 0


def unread_files(root: Path) -> list[Path]:
    """Files in a user folder's collection folders that the loader would pass over without a word: any
    name not ending in ``.toml`` (``x.TOML`` saved on Windows, ``x.toml.txt``, ``x.json``), other than
    notes (``.md``) and hidden files (``.DS_Store``)."""
    out = []
    for collection in COLLECTIONS:
        for e in _list_dir(root / collection, [MAX_FOLDER_ENTRIES]) or []:
            name = e.name
            if name.startswith(".") or name.endswith((".toml", ".md")) or _is_dir(e, False):
                continue
            out.append(Path(e.path))
    return out


def _scan(dirs: Sequence[Path]) -> tuple[dict[str, dict[str, list[Path]]], list[Issue]]:
    """Files per collection and id, in load order (built-in first, then each user folder)."""
    found: dict[str, dict[str, list[Path]]] = {c: {} for c in COLLECTIONS}
    issues: list[Issue] = []
    for i, root in enumerate(dirs):
        problem = folder_problem(root)
        if problem:
            issues.append(Issue(str(root), "", problem))
            continue
        files, overflow = toml_files(root, [MAX_FOLDER_ENTRIES])
        if overflow:
            issues.append(
                Issue(
                    str(root),
                    "",
                    f"holds more than {MAX_FOLDER_ENTRIES:,} files and folders; a catalog folder holds "
                    + ", ".join(f"{c}/" for c in COLLECTIONS)
                    + " with one file per item",
                )
            )
            continue
        if i > 0:  # a user's file the loader cannot read, or a folder with nothing to read: say so
            for path in unread_files(root):
                issues.append(
                    Issue(
                        str(path),
                        "",
                        "not read: a catalog file's name ends in .toml (lower case), e.g. "
                        f"{path.name.split('.')[0]}.toml",
                    )
                )
            if not files:
                issues.append(
                    Issue(
                        str(root),
                        "",
                        "holds no catalog file: put files like prices/nvidia-h100-sxm.toml in one of "
                        + ", ".join(f"{c}/" for c in COLLECTIONS),
                    )
                )
        for path, in_place in files:
            rel = path.relative_to(root)
            if not in_place:
                if i > 0:  # a user's stray file would be silently ignored: say so
                    issues.append(
                        Issue(
                            str(path),
                            "",
                            "not in a catalog folder; put it in one of "
                            + ", ".join(f"{c}/" for c in COLLECTIONS),
                        )
                    )
                continue
            item_id = path.stem
            if not schema.ID_PATTERN.match(item_id):
                issues.append(
                    Issue(
                        str(path),
                        "id",
                        f"{item_id!r} is not a lower-kebab id "
                        "(lower-case letters, digits and dots, words joined by '-')",
                    )
                )
                continue
            found[rel.parts[0]].setdefault(item_id, []).append(path)
    return found, issues


def _parse(path: Path) -> tuple[dict[str, Any] | None, Issue | None]:
    """One catalog file, read only if it is a regular file of at most 1 MB, parsed with bounds."""
    try:
        return load_toml_file(path, MAX_TOML_BYTES), None
    except tomllib.TOMLDecodeError as err:
        return None, Issue(str(path), "", f"malformed TOML: {err}")
    except InputRefused as err:
        return None, Issue(str(path), "", str(err))


def merge_documents(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` over `base` key by key (a user's file over the built-in one, an uploaded device over
    the catalog's): tables merge, arrays and values are replaced. Neither argument is changed."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_documents(out[key], value)
        else:
            out[key] = value
    return out


_VALIDATORS: dict[str, Callable[[str, dict[str, Any], str], list[Issue]]] = {
    "devices": lambda p, d, i: schema.validate_device(p, d),
    "prices": schema.validate_prices,
    "workloads": lambda p, d, i: schema.validate_workload(p, d),
    "results": schema.validate_results,
    "regions": lambda p, d, i: schema.validate_region(p, d),
    "pue": lambda p, d, i: schema.validate_pue(p, d),
    "assumptions": lambda p, d, i: schema.validate_assumptions(p, d),
    "apis": lambda p, d, i: schema.validate_api(p, d),
    "market": lambda p, d, i: schema.validate_market(p, d),
}


def read_documents(
    dirs: Sequence[Path],
) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, dict[str, list[str]]]]:
    """Parse, merge and validate every file; raise CatalogError listing every problem found."""
    found, issues = _scan(dirs)
    docs: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in COLLECTIONS}
    files: dict[str, dict[str, list[str]]] = {c: {} for c in COLLECTIONS}
    for collection, items in found.items():
        for item_id, paths in sorted(items.items()):
            merged: dict[str, Any] | None = {}
            for path in paths:
                doc, issue = _parse(path)
                if issue:
                    issues.append(issue)
                    merged = None
                    break
                assert merged is not None
                merged = merge_documents(merged, doc or {})
            if merged is None:
                continue
            label = " + ".join(_shown(p, dirs[0]) for p in paths)
            file_issues = _VALIDATORS[collection](label, merged, item_id)
            issues.extend(file_issues)
            if not file_issues:
                docs[collection][item_id] = merged
                files[collection][item_id] = [str(p) for p in paths]
    issues.extend(_cross_check(docs))
    if issues:
        raise CatalogError(issues)
    return docs, files


def _shown(path: Path, base: Path) -> str:
    """A catalog file as a message names it: the built-in catalog's relative to it (``catalog/prices/
    x.toml``: no installation path in a message a user or a visitor reads), a user's as given."""
    try:
        return f"{base.name}/{path.relative_to(base)}"
    except ValueError:
        return str(path)


def _cross_check(docs: dict[str, dict[str, dict[str, Any]]]) -> list[Issue]:
    issues = []
    devices, workloads = docs["devices"], docs["workloads"]
    for price_id in docs["prices"]:
        if price_id not in devices:
            issues.append(
                Issue(f"prices/{price_id}.toml", "device", f"{price_id!r} is not a device in the catalog")
            )
    for api_id, doc in docs["apis"].items():
        for i, workload_id in enumerate(doc["serves"]):
            if workload_id not in workloads:
                issues.append(
                    Issue(
                        f"apis/{api_id}.toml",
                        f"serves[{i}]",
                        f"{workload_id!r} is not a workload in the catalog",
                    )
                )
    # a market file and a results file each name one workload and list rows that each name a device
    for folder, rows_key, workload_of in (
        ("market", "point", lambda item_id, doc: doc["workload"]),
        ("results", "result", lambda item_id, doc: item_id),
    ):
        for item_id, doc in docs[folder].items():
            path = f"{folder}/{item_id}.toml"
            workload_id = workload_of(item_id, doc)
            if workload_id not in workloads:
                issues.append(Issue(path, "workload", f"{workload_id!r} is not a workload in the catalog"))
            for i, row in enumerate(doc[rows_key]):
                if row["device"] not in devices:
                    issues.append(
                        Issue(
                            path,
                            f"{rows_key}[{i}].device",
                            f"{row['device']!r} is not a device in the catalog",
                        )
                    )
    # a market point that sets an assumption names one the catalog has
    assumed = {key for doc in docs["assumptions"].values() for key, v in doc.items() if isinstance(v, dict)}
    for item_id, doc in docs["market"].items():
        for i, row in enumerate(doc["point"]):
            name = row.get("calibrates")
            if isinstance(name, str) and name not in assumed:
                issues.append(
                    Issue(
                        f"market/{item_id}.toml",
                        f"point[{i}].calibrates",
                        f"{name!r} is not an assumption in the catalog (catalog/assumptions/*.toml)",
                    )
                )
    return issues
