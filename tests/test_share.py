"""Deep links, exports and uploads, without a browser."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from explorer import export
from explorer.app import apply_query, explorer_app
from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.scenario import FIELD_SPECS, Scenario, from_query_lenient
from explorer.share import MAX_UPLOAD_BYTES, UploadError, catalog_with_upload, scenario_from_upload

from .conftest import CATALOG

CAT = load_catalog()
IDS = {"workload": set(CAT.workloads.id), "region": set(CAT.regions.id)}


# -- deep links --------------------------------------------------------------------------------------


def test_every_field_survives_a_link() -> None:
    s = Scenario(
        requests_per_day=2.5e9,
        peak_to_average=3.5,
        workload="sdxl",
        model_changes_per_year=12,
        framework_mix={"pytorch": 3, "jax": 1},
        deployment="bare-metal",
        edge_sites=20,
        cloud_market="any-provider",
        training_share=0.2,
        horizon_years=5,
        region="germany",
        electricity_usd_per_kwh=0.21,
        volume_uncertainty=0.3,
        pue=1.3,
        grid_gco2_per_kwh=350,
        utilization=0.7,
        engineer_day_usd=1200,
    )
    assert {f for f in FIELD_SPECS if getattr(s, f) != getattr(Scenario(), f)} == set(FIELD_SPECS)
    back, notes = from_query_lenient(s.to_query(), IDS)
    assert back == s and notes == []


@pytest.mark.parametrize(
    ("query", "field", "fragment"),
    [
        ("requests_per_day=-3", "requests_per_day", "allowed: a number from 100"),
        ("requests_per_day=nan", "requests_per_day", "not a finite number"),
        ("deployment=moon", "deployment", "allowed: cloud, bare-metal, edge"),
        ("workload=gpt-9", "workload", "allowed: bert-large"),
        ("region=atlantis", "region", "allowed: finland"),
        ("framework_mix=cobol%3D1", "framework_mix.cobol", "allowed frameworks"),
        ("framework_mix=pytorch%3D0", "framework_mix", "must not all be zero"),
        ("colour=blue", "colour", "is not a setting of the explorer"),
    ],
)
def test_a_bad_link_value_takes_the_default_with_a_note(query: str, field: str, fragment: str) -> None:
    s, notes = from_query_lenient(query + "&peak_to_average=3", IDS)
    assert s.peak_to_average == 3, "the valid fields of the link are kept"
    base = field.split(".")[0]
    if base in FIELD_SPECS:
        assert getattr(s, base) == getattr(Scenario(), base)
    assert len(notes) == 1 and fragment in notes[0] and field in notes[0]


def test_app_opens_a_link_and_shows_what_it_ignored() -> None:
    app = explorer_app(CAT, query="requests_per_day=2500000000.0&deployment=edge&utilization=7")
    e = app.explorer
    assert e.result.scenario.requests_per_day == 2.5e9 and e.result.scenario.deployment == "edge"
    assert "utilization: 7.0 is not allowed" in e.notes.value
    assert e.controls.fields["requests_per_day"].value == 2.5e9


def test_a_built_app_takes_a_link_in_one_update() -> None:
    """The Voila app is built before its visitor arrives, then given the visitor's link."""
    query = "requests_per_day=2500000000.0&deployment=edge&utilization=7"
    app = explorer_app(CAT)
    before = app.explorer.evaluations
    apply_query(app, query)
    assert app.explorer.evaluations == before + 1, "one update for the whole link"
    direct = explorer_app(CAT, query=query)
    assert app.explorer.result.scenario == direct.explorer.result.scenario
    assert app.explorer.headline.value == direct.explorer.headline.value
    assert "utilization: 7.0 is not allowed" in app.explorer.notes.value
    apply_query(app, "")  # no link: the defaults, and no note left behind
    assert app.explorer.result.scenario == Scenario() and app.explorer.notes.value == ""
    plain = explorer_app(CAT)
    apply_query(plain, "")
    assert plain.explorer.evaluations == 1, "no link, nothing to update"


def test_link_follows_the_controls() -> None:
    app = explorer_app(CAT)
    link = app.explorer.top.children[2]
    assert link.query == ""
    app.explorer.controls.fields["deployment"].value = "bare-metal"
    assert link.query == "deployment=bare-metal"
    assert from_query_lenient(link.query, IDS)[0] == app.explorer.result.scenario


# -- exports -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=x"])
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert export.neutralise(cell) == "'" + cell
    assert export.neutralise("plain") == "plain" and export.neutralise(-5.0) == -5.0


def test_results_csv_is_safe_and_complete(tmp_path: Path) -> None:
    base = tmp_path / "catalog"
    shutil.copytree(CATALOG, base)
    f = base / "devices" / "nvidia-l4.toml"
    f.write_text(
        re.sub(
            r'^name = "[^"]+"', 'name = "=HYPERLINK(\\"http://evil\\")"', f.read_text(), count=1, flags=re.M
        ),
        encoding="utf-8",
    )
    cat = load_catalog(base=base, use_env=False)
    text = export.results_csv(evaluate(Scenario(), cat))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(cat.devices)
    assert list(rows[0]) == export.CSV_COLUMNS
    l4 = next(r for r in rows if r["device_id"] == "nvidia-l4")
    assert l4["name"].startswith("'=HYPERLINK")
    for r in rows:
        for v in r.values():
            assert not v.startswith(("=", "+", "@")), v


def test_scenario_json_round_trips() -> None:
    r = evaluate(Scenario(requests_per_day=3e9), CAT)
    assert Scenario.from_json(export.scenario_json(r)) == r.scenario


def test_charts_render_offline_as_png_and_svg() -> None:
    from explorer import charts as C

    r = evaluate(Scenario(), CAT)
    chart = C.build_all(C.chart_data(r, CAT))["cost_per_request"]
    assert export.chart_png(chart).startswith(b"\x89PNG")
    assert "<svg" in export.chart_svg(chart)


def test_report_has_headline_charts_assumptions_and_sources() -> None:
    r = evaluate(Scenario(), CAT)
    page = export.report_html(r, CAT)
    assert r.recommendation.name in page
    assert page.count("<svg") == 6
    assert "Assumptions" in page and "Engineer-day cost" in page
    sources = re.findall(r"<a href='(https?://[^']+)'>", page)
    assert len(sources) > 50
    assert "cdn." not in page and "<script" not in page, "the report is self-contained"


# -- uploads -----------------------------------------------------------------------------------------


def _upload(name: str, content: str | bytes) -> dict:
    data = content.encode() if isinstance(content, str) else content
    return {
        "name": name,
        "content": memoryview(data),
        "size": len(data),
        "type": "",
        "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    }


def test_scenario_upload() -> None:
    s = Scenario(requests_per_day=4e9, deployment="edge")
    assert scenario_from_upload(_upload("s.json", s.to_json())) == s
    with pytest.raises(UploadError, match=r"^s.json: scenario: malformed JSON"):
        scenario_from_upload(_upload("s.json", "{oops"))
    with pytest.raises(UploadError, match=r"^s.json: utilization: 5.0 is not allowed"):
        scenario_from_upload(_upload("s.json", json.dumps({"utilization": 5})))
    with pytest.raises(UploadError, match="too large; allowed: up to"):
        scenario_from_upload(_upload("s.json", b" " * (MAX_UPLOAD_BYTES + 1)))


PRICES = (
    "device,price_type,price,unit,as_of,source_title,source_url\n"
    "nvidia-h100-sxm,purchase,21000,USD,2026-10-01,Our quote Q-1,https://intranet.example.com/q1\n"
    "nvidia-l4,cloud,0.5,USD/hour,2026-10-01,Our contract C-7,https://intranet.example.com/c7\n"
)


def test_price_csv_upload_overrides_for_the_session() -> None:
    cat, folder, summary = catalog_with_upload(_upload("prices.csv", PRICES), cat=CAT)
    p = cat.purchase_prices.set_index("device_id")
    assert p.loc["nvidia-h100-sxm", "price_usd"] == 21000
    assert p.loc["nvidia-h100-sxm", "source_title"] == "Our quote Q-1"
    assert "nvidia-h100-sxm" in summary and folder.is_dir()
    assert load_catalog().purchase_prices.set_index("device_id").loc["nvidia-h100-sxm", "price_usd"] != 21000


@pytest.mark.parametrize(
    ("replace", "fragment"),
    [
        (("21000", "lots"), "prices.csv: row 2, field price: 'lots' is not a number"),
        (
            ("nvidia-l4,cloud", "nvidia-l5,cloud"),
            "prices.csv: row 3, field device: 'nvidia-l5' is not a device",
        ),
        (("purchase,21000", "lease,21000"), "row 2, field price_type: 'lease' is not allowed"),
        (("Our contract C-7", ""), "row 3, field source_title: empty"),
        (("21000,USD", "21000,EUR"), "unknown unit 'EUR'"),
        (("21000,USD", "-21000,USD"), "-21000.0 must be positive"),
        (("source_url\n", "link\n"), "missing column(s) source_url"),
    ],
)
def test_bad_price_csv_names_row_and_field(replace: tuple[str, str], fragment: str) -> None:
    with pytest.raises(UploadError) as info:
        catalog_with_upload(_upload("prices.csv", PRICES.replace(*replace)), cat=CAT)
    assert fragment in str(info.value), str(info.value)


def test_device_file_upload_adds_a_device() -> None:
    text = (CATALOG / "devices" / "nvidia-l4.toml").read_text().replace('name = "', 'name = "Our ', 1)
    cat, _, summary = catalog_with_upload(_upload("our-l4.toml", text), cat=CAT)
    assert "our-l4" in set(cat.devices.id) and "device file our-l4" in summary
    with pytest.raises(UploadError, match=r"our-l4.toml: malformed TOML"):
        catalog_with_upload(_upload("our-l4.toml", text + "\n= broken"), cat=CAT)
    with pytest.raises(UploadError, match=r"allowed: a price \.csv, or a device or price \.toml file"):
        catalog_with_upload(_upload("notes.txt", "hello"), cat=CAT)


def test_rejected_upload_keeps_the_app_as_it_was() -> None:
    app = explorer_app(CAT)
    e = app.explorer
    e.controls.fields["requests_per_day"].value = 3e9
    panel = app.share.children[0]
    hardware = panel.children[1].children[2]
    hardware.value = [_upload("prices.csv", PRICES.replace("21000", "lots"))]
    status = panel.children[2].value
    assert "Upload refused" in status and "row 2, field price" in status
    assert e.result.scenario.requests_per_day == 3e9 and e.cat is CAT
    hardware.value = [_upload("prices.csv", PRICES)]
    assert "Added for this session" in panel.children[2].value
    assert e.cat is not CAT and e.result.scenario.requests_per_day == 3e9


def test_download_buttons_send_files() -> None:
    app = explorer_app(CAT)
    panel = app.share.children[0]
    buttons = [w for w in panel.children[0].children if hasattr(w, "click")]
    for b in buttons:
        b.click()
    downloader = panel.children[3]
    assert [n.rsplit(".", 1)[1] for n in downloader.sent] == ["json", "csv", "html", "png", "svg"]
    assert "failed" not in panel.children[2].value
