"""Every catalog file, one test id per file (vega-datasets' tests/test_datapackage.py habit)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from explorer.catalog import FRAMEWORKS, load_catalog
from explorer.catalog import schema as S
from explorer.catalog.load import COLLECTIONS, _walk_refs, read_documents

from .conftest import CATALOG

FILES = sorted(p for c in COLLECTIONS for p in (CATALOG / c).glob("*.toml"))

REQUIRED_DEVICES = [
    "nvidia-t4",
    "nvidia-l4",
    "nvidia-l40s",
    "nvidia-a10g",
    "nvidia-a100-40gb-sxm",
    "nvidia-a100-80gb-sxm",
    "nvidia-h100-sxm",
    "nvidia-h100-pcie",
    "nvidia-h200",
    "nvidia-b200",
    "amd-mi300x",
    "google-tpu-v4",
    "google-tpu-v5e",
    "google-tpu-v5p",
    "google-tpu-v6e",
    "aws-inferentia2",
    "aws-trainium",
    "aws-trainium2",
    "intel-gaudi2",
    "intel-gaudi3",
    "qualcomm-cloud-ai-100",
    "google-coral-edge-tpu",
    "nvidia-jetson-agx-orin",
    "apple-m4-neural-engine",
    "hailo-8",
]
REQUIRED_WORKLOADS = ["resnet-50", "bert-large", "llama-3.1-8b", "llama-2-70b", "whisper-large-v3", "sdxl"]


def _id(p: Path) -> str:
    return f"{p.parent.name}/{p.stem}"


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_file_is_valid(path: Path) -> None:
    """Parses; id is lower-kebab; required fields; known units; values in sanity bounds; sources resolve."""
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    assert S.ID_PATTERN.match(path.stem), f"{path.stem!r} is not a lower-kebab id"
    validate = {
        "devices": lambda: S.validate_device(str(path), doc),
        "prices": lambda: S.validate_prices(str(path), doc, path.stem),
        "workloads": lambda: S.validate_workload(str(path), doc),
        "results": lambda: S.validate_results(str(path), doc, path.stem),
        "regions": lambda: S.validate_region(str(path), doc),
        "pue": lambda: S.validate_pue(str(path), doc),
        "assumptions": lambda: S.validate_assumptions(str(path), doc),
        "apis": lambda: S.validate_api(str(path), doc),
        "market": lambda: S.validate_market(str(path), doc),
    }[path.parent.name]
    issues = validate()
    assert not issues, "\n".join(map(str, issues))


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_source_is_dated_and_every_figure_has_one(path: Path) -> None:
    """Each figure names a source (a source may also back only a note: the disagreeing one)."""
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    refs = [rec["source"] for _, rec in _walk_refs(doc)]
    assert refs, "a catalog file with no sourced record"
    for key, src in doc["sources"].items():
        assert src["retrieved"] and src["url"].startswith("http"), key


def test_whole_catalog_loads_with_cross_references() -> None:
    docs, _ = read_documents([CATALOG])
    assert set(REQUIRED_DEVICES) <= set(docs["devices"]), set(REQUIRED_DEVICES) - set(docs["devices"])
    assert set(REQUIRED_WORKLOADS) <= set(docs["workloads"])


def test_at_least_26_devices_with_five_edge(cat) -> None:
    assert len(cat.devices) >= 26
    edge = cat.devices[cat.devices.segment == "edge"]
    assert len(edge) >= 5, list(edge.id)


def test_every_device_has_a_price_file(cat) -> None:
    priced = set(cat.documents["prices"])
    assert set(cat.devices.id) <= priced, set(cat.devices.id) - priced


@pytest.mark.parametrize(
    ("device", "low", "high"),
    [
        # The figures the project started from (DEVELOPERS.md): L40S about 350 W, A100 about 400 W,
        # H100 SXM up to 700 W, each a rated board power.
        ("nvidia-l40s", 340, 360),
        ("nvidia-a100-40gb-sxm", 390, 410),
        ("nvidia-a100-80gb-sxm", 390, 410),
        ("nvidia-h100-sxm", 700, 700),
    ],
)
def test_seed_power_figures_hold(cat, device: str, low: float, high: float) -> None:
    row = cat.devices.set_index("id").loc[device]
    assert low <= row.power_w <= high
    assert row.power_basis == "rated"
    assert row.power_boundary == "board"


def test_every_device_names_power_boundary_and_frameworks(cat) -> None:
    d = cat.devices
    assert d.power_basis.isin(S.POWER_BASES).all()
    assert d.power_boundary.isin(S.POWER_BOUNDARIES).all()
    counts = cat.frameworks.groupby("device_id").framework.nunique()
    assert (counts == len(FRAMEWORKS)).all()
    assert cat.frameworks.source_url.str.startswith("http").all()


def test_deployment_facts_are_consistent(cat) -> None:
    d = cat.devices.set_index("id")
    # TPUs, Inferentia and Trainium are rented, never sold.
    for dev in ["google-tpu-v5e", "aws-inferentia2", "aws-trainium2"]:
        assert not d.loc[dev, "bare_metal_available"], dev
        assert d.loc[dev, "cloud_available"], dev
    assert not d.loc["nvidia-h100-sxm", "edge_available"]
    assert d[d.segment == "edge"].edge_available.all()
    # bare metal GPUs are sold by more than one vendor
    assert d.loc["nvidia-h100-sxm", "bare_metal_vendor_count"] > 1


def test_prices_have_dates_and_per_chip_figures(cat) -> None:
    c = cat.cloud_prices
    assert not c.empty
    assert (c.price_usd_per_chip_hour > 0).all()
    assert c.as_of.notna().all()
    assert (c.price_usd_per_chip_hour * c.chips - c.price_usd_per_hour).abs().max() < 1e-9
    p = cat.purchase_prices
    assert p.as_of.notna().all()
    assert p[p.estimate].method.str.len().gt(10).all(), "an estimated price needs its method"


def test_workloads_define_a_request(cat) -> None:
    w = cat.workloads.set_index("id")
    assert (w.compute_gflop_per_request > 0).all()
    assert (w.memory_traffic_mb_per_request > 0).all()
    for llm in ["llama-3.1-8b", "llama-2-70b"]:
        # output tokens convert measured tokens/s into requests/s; the input tokens are the prefill
        assert w.loc[llm, "output_tokens_per_request"] > 0
        assert w.loc[llm, "input_tokens_per_request"] > 0


def test_measured_results_convert_to_requests(cat) -> None:
    r = cat.results
    assert len(r) >= 10
    assert r.device_id.isin(cat.devices.id).all()
    assert (r.requests_per_s_per_accelerator.dropna() > 0).all()
    assert r.requests_per_s_per_accelerator.notna().all(), r[r.requests_per_s_per_accelerator.isna()]


def test_energy_context(cat) -> None:
    assert len(cat.regions) >= 4
    assert cat.regions.electricity_usd_per_kwh.between(0.01, 1).all()
    pue = cat.pue.set_index("id").pue
    assert pue["hyperscale"] < pue["enterprise"]


def test_every_figure_has_a_source_and_a_date(cat) -> None:
    p = cat.provenance
    assert p.source_url.str.startswith("http").all()
    assert p.retrieved.notna().all()
    est = p[p.estimate]
    assert est.method.notna().all()


def test_comparable_results_stay_below_the_compute_ceiling(cat) -> None:
    """No device beats its fastest published peak / the workload's FLOP per request by much. The margin
    (1.5x) allows for harnesses that skip padding (MLPerf BERT runs unpadded; the workload counts the
    padded 384 tokens); a row far above the ceiling (Whisper's printed figures were 17-35x) measures a
    different request than the workload defines and must say so (comparable = false)."""
    d = cat.devices.set_index("id")
    w = cat.workloads.set_index("id")
    bad = []
    for r in cat.results[cat.results.comparable].itertuples():
        dev = d.loc[r.device_id]
        peaks = (dev.peak_int8_tops, dev.peak_bf16_tflops, dev.peak_fp8_tflops, dev.peak_fp4_tflops)
        peak_tops = max(x for x in peaks if x == x)  # FP8/FP4 rows (Blackwell Ultra cut INT8) run there
        ceiling = peak_tops * 1e12 / (w.loc[r.workload].compute_gflop_per_request * 1e9)
        if r.requests_per_s_per_accelerator > 1.5 * ceiling:
            bad.append(
                f"{r.workload}[{r.index}] {r.device_id}: {r.requests_per_s_per_accelerator:,.1f} "
                f"requests/s > 1.5 x {ceiling:,.1f}"
            )
    assert not bad, bad
