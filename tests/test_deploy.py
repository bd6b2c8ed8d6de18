"""Deployment past one machine (explorer/deploy/): the Helm values for Zero to JupyterHub and BinderHub parse,
use only key paths the charts' schemas know, open the app, cull on the app's own idle time, carry no secrets,
and agree with the guide's settings and sizing tables. No cluster, no browser: the files are read as data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from explorer.serve import APP_NOTEBOOK, IDLE_MINUTES

from .conftest import REPO

DEPLOY = REPO / "explorer" / "deploy"
GUIDE = DEPLOY / "README.md"
Z2JH = DEPLOY / "z2jh-config.yaml"
BINDERHUB = DEPLOY / "binderhub-config.yaml"

# Every key path the values files use, with the type or values the schema allows there. `*` is any one key
# (the schema's patternProperties); `**` is a free-form subtree (additionalProperties: true), not looked into.
# A path not listed fails the test: check it in the schema, then add it here.
#
# Read from jupyterhub/zero-to-jupyterhub-k8s, jupyterhub/values.schema.yaml at commit
# 02dd73df01bdbb6d602fed21b0be12565ab38080 (the stored version; it predates chart 4.3's httpRoute, and the
# changelog for 4.0-4.4, docs/source/changelog.md, removes or renames none of the keys used here).
Z2JH_KEYS: dict[str, Any] = {
    "hub.config.**": dict,
    "proxy.https.enabled": (bool, type(None)),
    "proxy.https.type": {None, "", "letsencrypt", "manual", "offload", "secret"},
    "proxy.https.hosts": list,
    "proxy.https.letsencrypt.contactEmail": (str, type(None)),
    "proxy.service.type": {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"},
    "ingress.enabled": bool,
    "ingress.hosts": list,
    "ingress.annotations.*": str,
    "ingress.tls": list,
    "singleuser.image.name": str,
    "singleuser.image.tag": str,
    "singleuser.image.pullPolicy": {None, "", "IfNotPresent", "Always", "Never"},
    "singleuser.defaultUrl": (str, type(None)),
    "singleuser.storage.type": {"dynamic", "static", "none"},
    "singleuser.memory.guarantee": (int, float, str, type(None)),
    "singleuser.memory.limit": (int, float, str, type(None)),
    "singleuser.cpu.guarantee": (int, float, type(None)),
    "singleuser.cpu.limit": (int, float, type(None)),
    "singleuser.startTimeout": (int, type(None)),
    "singleuser.networkPolicy.egressAllowRules.nonPrivateIPs": bool,
    "singleuser.extraFiles.*.mountPath": str,
    "singleuser.extraFiles.*.data.**": dict,
    "prePuller.hook.enabled": bool,
    "prePuller.continuous.enabled": bool,
    "scheduling.userScheduler.enabled": bool,
    "scheduling.podPriority.enabled": bool,
    "scheduling.userPlaceholder.enabled": bool,
    "scheduling.userPlaceholder.replicas": int,
    "cull.enabled": bool,
    "cull.users": (bool, type(None)),
    "cull.timeout": (int, type(None)),
    "cull.every": (int, type(None)),
    "cull.maxAge": (int, type(None)),
}

# Read from jupyterhub/binderhub, helm-chart/binderhub/schema.yaml at commit
# 01d5260ea9a6dff4d60b064af0c09c0bffcc094c (the chart that depends on the jupyterhub chart). Its own schema
# leaves `jupyterhub:` open (additionalProperties: true); Helm validates that part with the jupyterhub
# chart's schema, so it is checked against Z2JH_KEYS.
BINDERHUB_KEYS: dict[str, Any] = {
    "config.**": dict,
    "dind.enabled": bool,
    "service.type": {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"},
    "ingress.enabled": bool,
    "ingress.hosts": list,
    "ingress.annotations.*": str,
    "ingress.tls": list,
    "jupyterhub.**": dict,
}

# Keys whose value is a credential: never in these files (they say where a separate, untracked file goes).
SECRET_KEYS = {
    "client_id",
    "client_secret",
    "password",
    "apitoken",
    "api_token",
    "secrettoken",
    "cookiesecret",
    "accesstoken",
    "access_token",
    "token",
}

SIZING_ROWS = [
    "visitors held on one 2-core, 24 GB machine (p95 < 500 ms, no errors)",
    "slider to every update sent, p50 / p95, at that load",
    "time to a working page, 40 arriving within a minute (median / worst)",
    "kernel memory per visitor (RSS, median)",
    "server memory at peak",
    "memory once everyone has left",
    "per-user memory on JupyterHub/BinderHub (server + kernel), for the pod limit",
]
VISITORS, SLIDER, ARRIVAL, KERNEL, PEAK, LEFT, PER_USER = SIZING_ROWS
LOAD_TEST_CORES, LOAD_TEST_MEMORY = 2, 24e9


class _Missing:
    def __repr__(self) -> str:
        return "<not set>"


MISSING = _Missing()


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def at(values: Any, dotted: str) -> Any:
    """The value at a dotted key path, or MISSING."""
    for key in dotted.split("."):
        if not isinstance(values, dict) or key not in values:
            return MISSING
        values = values[key]
    return values


def singleuser_side(path: Path) -> dict:
    """The jupyterhub chart's values: the whole Z2JH file, or the BinderHub file's `jupyterhub:` part."""
    values = load(path)
    return values["jupyterhub"] if path == BINDERHUB else values


def _matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(pattern) == len(path) and all(p in ("*", k) for p, k in zip(pattern, path, strict=True))


def _type_ok(value: Any, allowed: Any) -> bool:
    if isinstance(allowed, set):
        return value in allowed
    types = allowed if isinstance(allowed, tuple) else (allowed,)
    if isinstance(value, bool) and bool not in types:  # YAML true is not a number
        return False
    return isinstance(value, types)


def schema_problems(values: Any, keys: dict[str, Any], prefix: str = "") -> list[str]:
    """Every key path in `values` that `keys` does not know, and every value of a type the schema refuses."""
    patterns = [(tuple(k.split(".")), allowed) for k, allowed in keys.items()]
    problems: list[str] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        name = prefix + ".".join(path)
        for pattern, allowed in patterns:
            if pattern[-1] == "**" and _matches(pattern[:-1], path):
                if not _type_ok(node, allowed):
                    problems.append(f"{name}: {node!r} is not {allowed}")
                return
        if isinstance(node, dict) and node:
            for key, child in node.items():
                walk(child, (*path, str(key)))
            return
        for pattern, allowed in patterns:
            if _matches(pattern, path):
                if not _type_ok(node, allowed):
                    problems.append(f"{name}: {node!r} is not one of {allowed}")
                return
        problems.append(f"{name}: not a key path the chart's schema has (as listed in tests/test_deploy.py)")

    walk(values, ())
    return problems


@pytest.mark.parametrize("path", [Z2JH, BINDERHUB], ids=lambda p: p.name)
def test_values_file_parses_to_a_mapping(path: Path) -> None:
    values = load(path)
    assert isinstance(values, dict) and values, f"{path.name}: not a YAML mapping"


def test_z2jh_keys_are_in_the_jupyterhub_chart_schema() -> None:
    assert schema_problems(load(Z2JH), Z2JH_KEYS) == []


def test_binderhub_keys_are_in_the_binderhub_and_jupyterhub_chart_schemas() -> None:
    values = load(BINDERHUB)
    problems = schema_problems(values, BINDERHUB_KEYS)
    problems += schema_problems(values["jupyterhub"], Z2JH_KEYS, prefix="jupyterhub.")
    assert problems == []


def test_the_schema_check_catches_misspelt_keys_and_wrong_types() -> None:
    def problem_paths(values: Any) -> list[str]:
        return [p.split(":")[0] for p in schema_problems(values, Z2JH_KEYS)]

    misspelt = load(Z2JH)
    misspelt["singleuser"]["memory"]["limt"] = misspelt["singleuser"]["memory"].pop("limit")
    baseline = set(problem_paths(load(Z2JH)))  # empty, unless the test above fails too
    assert set(problem_paths(misspelt)) - baseline == {"singleuser.memory.limt"}
    misspelt["cul"] = misspelt.pop("cull")
    assert "cul.timeout" in set(problem_paths(misspelt)) - baseline
    wrong = load(Z2JH)
    wrong["cull"]["timeout"] = "15m"
    wrong["singleuser"]["storage"]["type"] = "ephemeral"
    wrong["prePuller"]["hook"]["enabled"] = "yes"
    assert set(problem_paths(wrong)) - baseline == {
        "singleuser.storage.type",
        "prePuller.hook.enabled",
        "cull.timeout",
    }


@pytest.mark.parametrize("path", [Z2JH, BINDERHUB], ids=lambda p: p.name)
def test_default_url_opens_the_app_notebook(path: Path) -> None:
    url = at(singleuser_side(path), "singleuser.defaultUrl")
    assert isinstance(url, str) and url.startswith("/voila/render/"), url
    notebook = REPO / url.removeprefix("/voila/render/")
    assert notebook.suffix == ".ipynb" and notebook.is_file(), f"{url}: no such notebook in the repository"
    assert notebook.resolve() == APP_NOTEBOOK, f"{url} is not the app that explorer.serve serves"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"urlpath={url.lstrip('/')}" in readme, "the README's Binder badge opens another page"


@pytest.mark.parametrize("path", [Z2JH, BINDERHUB], ids=lambda p: p.name)
def test_culling_uses_the_apps_idle_time(path: Path) -> None:
    values = singleuser_side(path)
    idle = IDLE_MINUTES * 60
    assert at(values, "cull.enabled") is True
    assert at(values, "cull.timeout") == idle, f"cull.timeout should be IDLE_MINUTES * 60 = {idle}"
    assert 0 < at(values, "cull.every") <= idle // 2, "the culler should check at least twice per timeout"
    files = at(values, "singleuser.extraFiles")
    assert isinstance(files, dict) and files, "no kernel culling inside the pod (singleuser.extraFiles)"
    culling = [f for f in files.values() if "MappingKernelManager" in f.get("data", {})]
    assert len(culling) == 1, "one extra file should configure MappingKernelManager"
    assert re.fullmatch(r"/(usr/local/)?etc/jupyter/jupyter_server_config\.json", culling[0]["mountPath"])
    assert culling[0]["data"]["MappingKernelManager"]["cull_idle_timeout"] == idle


def test_both_deployments_give_a_user_the_same_pod() -> None:
    z2jh, binder = singleuser_side(Z2JH), singleuser_side(BINDERHUB)
    for key in [
        "singleuser.defaultUrl",
        "singleuser.memory",
        "singleuser.cpu",
        "singleuser.startTimeout",
        "singleuser.storage",
        "singleuser.networkPolicy",
        "singleuser.extraFiles",
        "cull.timeout",
        "cull.every",
    ]:
        assert at(z2jh, key) == at(binder, key), f"{key} differs between the Z2JH and BinderHub files"


_QUANTITY = re.compile(r"(\d+(?:\.\d+)?)([kMGT]i?|Ki)?")
_QUANTITY_FACTORS = {None: 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20}
_QUANTITY_FACTORS |= {"Gi": 2**30, "Ti": 2**40}


def quantity_bytes(value: Any) -> float:
    """A Kubernetes memory quantity (1G, 512Mi, 1073741824) in bytes."""
    match = _QUANTITY.fullmatch(str(value))
    assert match, f"{value!r} is not a Kubernetes memory quantity like 1G or 512Mi"
    return float(match[1]) * _QUANTITY_FACTORS[match[2]]


@pytest.mark.parametrize("path", [Z2JH, BINDERHUB], ids=lambda p: p.name)
def test_guarantees_are_within_limits(path: Path) -> None:
    values = singleuser_side(path)
    memory, cpu = at(values, "singleuser.memory"), at(values, "singleuser.cpu")
    assert quantity_bytes(memory["guarantee"]) <= quantity_bytes(memory["limit"])
    assert 0 < cpu["guarantee"] <= cpu["limit"]


def test_the_z2jh_image_is_a_tagged_build() -> None:
    tag = at(load(Z2JH), "singleuser.image.tag")
    assert isinstance(tag, str) and tag and tag != "latest", "singleuser.image.tag: a tag per build"


@pytest.mark.parametrize("path", [Z2JH, BINDERHUB], ids=lambda p: p.name)
def test_no_credentials_in_values_files(path: Path) -> None:
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                if str(key).lower() in SECRET_KEYS and child not in (None, ""):
                    found.append(f"{where}{key}")
                walk(child, f"{where}{key}.")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{where}{i}.")

    walk(load(path), "")
    assert found == [], f"{path.name}: credentials belong in a separate, untracked values file"


@pytest.mark.parametrize("path", [Z2JH, BINDERHUB], ids=lambda p: p.name)
def test_hub_config_sections_are_class_names(path: Path) -> None:
    # Chart 4.3.0 refuses unknown top-level keys in hub.config (zero-to-jupyterhub-k8s#3721).
    config = at(singleuser_side(path), "hub.config")
    for section in {} if config is MISSING else config:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", section), f"hub.config.{section}: not a class name"


def guide_section(heading: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    assert heading in text, f"{GUIDE.name} has no {heading!r}"
    return text.split(heading, 1)[1].split("\n#", 1)[0]


def table_rows(section: str) -> list[list[str]]:
    """The body rows of the first Markdown table in `section`, as stripped cells."""
    lines = [line.strip() for line in section.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def settings_table() -> dict[str, tuple[str, str]]:
    rows = table_rows(guide_section("### The settings that matter"))
    return {row[0].strip("`"): (row[1], row[2]) for row in rows}


def cell_value(cell: str) -> Any:
    if cell == "—":
        return MISSING
    assert cell.startswith("`") and cell.endswith("`"), f"{cell!r}: a value in backticks, or —"
    return yaml.safe_load(cell.strip("`"))


def test_settings_table_lists_the_settings_that_matter() -> None:
    table = settings_table()
    needed = {
        "singleuser.defaultUrl",
        "singleuser.memory.limit",
        "singleuser.memory.guarantee",
        "singleuser.cpu.limit",
        "singleuser.cpu.guarantee",
        "singleuser.startTimeout",
        "cull.timeout",
        "cull.every",
        "cull.users",
        "prePuller.hook.enabled",
        "prePuller.continuous.enabled",
    }
    assert needed <= table.keys(), f"missing from the guide's settings table: {sorted(needed - table.keys())}"
    unknown = [key for key in table if key not in Z2JH_KEYS]
    assert unknown == [], f"not jupyterhub chart keys (as listed in tests/test_deploy.py): {unknown}"


@pytest.mark.parametrize(("column", "path"), [(0, Z2JH), (1, BINDERHUB)], ids=["z2jh", "binderhub"])
def test_settings_table_matches_the_values_file(column: int, path: Path) -> None:
    values = singleuser_side(path)
    wrong = {
        key: (cells[column], at(values, key))
        for key, cells in settings_table().items()
        if cell_value(cells[column]) != at(values, key)
    }
    assert wrong == {}, f"guide says / {path.name} has: {wrong}"


_FIGURE = re.compile(r"(?<![A-Za-z\d.])(\d[\d,]*(?:\.\d+)?)\s*(ms|min|s|GiB|GB|MiB|MB|kB|B)?(?![A-Za-z])")
_UNITS = {"ms": 1, "s": 1000, "min": 60_000, "B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}
_UNITS |= {"MiB": 2**20, "GiB": 2**30}
_TIME_UNITS = {"ms", "s", "min"}


def sizing_table() -> dict[str, str]:
    return {row[0]: row[1] for row in table_rows(guide_section("## Sizing"))}


def figures(cell: str) -> list[tuple[float, str | None]]:
    """The numbers in a table cell with their units; '35 / 120 ms' gives both numbers the unit ms."""
    found = [(float(n.replace(",", "")), unit) for n, unit in _FIGURE.findall(cell)]
    filled, unit = [], None
    for number, own in reversed(found):
        unit = own or unit
        filled.append((number, unit))
    return filled[::-1]


def durations_ms(label: str, cell: str, count: int) -> list[float]:
    found = figures(cell)[:count]
    assert len(found) == count and all(u in _TIME_UNITS for _, u in found), (
        f"{label}: {cell!r} should give {count} duration(s) with units (ms, s, min)"
    )
    return [n * _UNITS[u] for n, u in found]


def memory_bytes(label: str, cell: str) -> float:
    found = figures(cell)
    assert found and found[0][1] in _UNITS and found[0][1] not in _TIME_UNITS, (
        f"{label}: {cell!r} should be an amount of memory with its unit (MB, GB, MiB, GiB)"
    )
    return found[0][0] * _UNITS[found[0][1]]


def test_sizing_table_keeps_its_rows() -> None:
    section = guide_section("## Sizing")
    assert "| figure | value |" in section
    assert list(sizing_table()) == SIZING_ROWS


def is_filled(table: dict[str, str], label: str) -> bool:
    return "TBD" not in table[label]


@pytest.mark.parametrize("label", SIZING_ROWS)
def test_sizing_figure_agrees_with_the_values_files(label: str) -> None:
    table = sizing_table()
    cell = table[label]
    if not is_filled(table, label):
        pytest.skip(f"still TBD in {GUIDE.relative_to(REPO)}")
    pods = [at(singleuser_side(p), "singleuser") for p in (Z2JH, BINDERHUB)]
    limits = [quantity_bytes(pod["memory"]["limit"]) for pod in pods]

    def other_memory(row: str) -> float | None:
        return memory_bytes(row, table[row]) if is_filled(table, row) else None

    if label == VISITORS:
        held = figures(cell)[0][0] if figures(cell) else 0
        assert held >= 1 and held == int(held), f"{label}: {cell!r} should start with a number of visitors"
        for pod in pods:
            share = LOAD_TEST_CORES / held
            assert pod["cpu"]["guarantee"] >= share - 1e-9, (
                f"singleuser.cpu.guarantee {pod['cpu']['guarantee']} is below a visitor's share of a core "
                f"in the load test ({LOAD_TEST_CORES} cores / {held:g} visitors = {share:.3f})"
            )
    elif label == SLIDER:
        p50, p95 = durations_ms(label, cell, 2)
        assert p50 <= p95 < 500, f"{label}: p50 {p50:g} ms, p95 {p95:g} ms (p95 must stay under 500 ms)"
    elif label == ARRIVAL:
        median, worst = durations_ms(label, cell, 2)
        assert median <= worst, f"{label}: the median {median:g} ms is above the worst {worst:g} ms"
    elif label == KERNEL:
        kernel = memory_bytes(label, cell)
        assert all(kernel < limit for limit in limits), f"{label}: one kernel exceeds the pod memory limit"
        per_user = other_memory(PER_USER)
        assert per_user is None or kernel <= per_user, (
            f"{label} exceeds the per-user (server + kernel) figure"
        )
    elif label in (PEAK, LEFT):
        amount = memory_bytes(label, cell)
        assert 0 < amount <= LOAD_TEST_MEMORY, f"{label}: {cell!r} is more than the machine's 24 GB"
        peak, left = other_memory(PEAK), other_memory(LEFT)
        assert peak is None or left is None or left <= peak, "memory once everyone left exceeds the peak"
    elif label == PER_USER:
        per_user = memory_bytes(label, cell)
        for path, limit in zip((Z2JH, BINDERHUB), limits, strict=True):
            assert limit >= per_user, (
                f"{path.name}: singleuser.memory.limit ({limit / 1e6:g} MB) is below the per-user figure "
                f"({per_user / 1e6:g} MB)"
            )
        kernel = other_memory(KERNEL)
        assert kernel is None or per_user >= kernel, f"{label} is below the kernel's own memory"
