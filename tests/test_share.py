"""Deep links, exports and uploads, without a browser."""

from __future__ import annotations

import base64
import csv
import datetime
import glob
import html
import io
import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from explorer import export
from explorer.app import apply_query, explorer_app
from explorer.calc import evaluate
from explorer.catalog import load_catalog
from explorer.scenario import FIELD_SPECS, SPECS, FieldSpec, FrameworkMix, Scenario, from_query_lenient
from explorer.uploads import (
    MAX_UPLOAD_BYTES,
    SessionUploads,
    UploadError,
    read_hardware_upload,
    scenario_from_upload,
)

from .conftest import CATALOG

CAT = load_catalog()
IDS = {
    "workload": set(CAT.workloads.id),
    "region": set(CAT.regions.id),
    "current_device": set(CAT.devices.id),
}


# -- deep links --------------------------------------------------------------------------------------


def away_from_default(spec: FieldSpec) -> object:
    """A realistic value of the field other than its default, from its declaration alone: an inner point
    of its range (not a round figure, so a link must carry it exactly), a choice or an id that is not the
    default, a mix of two frameworks, a name that a URL must escape."""
    if spec.kind == "choice":
        return next(c for c in reversed(spec.choices) if c != spec.default)
    if spec.kind == "id":
        ids = sorted(getattr(CAT, spec.ids).id)
        return next(i for i in ids[len(ids) // 2 :] if i != spec.default)
    if spec.kind == "mix":
        return FrameworkMix.of({spec.choices[1]: 3, spec.choices[-1]: 1})
    if spec.kind == "text":
        return "Our model (v2) & co, 100%"[: spec.max_length]
    assert spec.bounds is not None
    lo, hi = spec.bounds
    for share in (0.37, 0.61):
        x = lo * (hi / lo) ** share if spec.scale == "log" else lo + (hi - lo) * share
        x = round(x) if spec.whole else float(f"{x:.4g}")
        if x != spec.default:
            return x
    raise AssertionError(spec.name)


def test_every_field_survives_a_link() -> None:
    s = Scenario(**{spec.name: away_from_default(spec) for spec in SPECS})
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
        ("current_device=nvidia-h99", "current_device", "allowed: amd-mi300x"),
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


@pytest.mark.slow
def test_app_opens_a_link_and_shows_what_it_ignored() -> None:
    app = explorer_app(CAT, query="requests_per_day=2500000000.0&deployment=edge&utilization=7")
    e = app.explorer
    assert e.result.scenario.requests_per_day == 2.5e9 and e.result.scenario.deployment == "edge"
    assert "utilization: 7 is not allowed" in e.notes.value
    assert e.controls.fields["requests_per_day"].value == 2.5e9


@pytest.mark.slow
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
    assert "utilization: 7 is not allowed" in app.explorer.notes.value
    apply_query(app, "")  # no link: the defaults, and no note left behind
    assert app.explorer.result.scenario == Scenario() and app.explorer.notes.value == ""
    plain = explorer_app(CAT)
    apply_query(plain, "")
    assert plain.explorer.evaluations == 1, "no link, nothing to update"


@pytest.mark.slow
def test_link_follows_the_controls() -> None:
    app = explorer_app(CAT)
    link = app.share.link
    assert link.query == ""
    app.explorer.controls.fields["deployment"].value = "bare-metal"
    assert link.query == "deployment=bare-metal"
    assert from_query_lenient(link.query, IDS)[0] == app.explorer.result.scenario


# -- exports -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=x"])
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert export.neutralise(cell) == "'" + cell
    assert export.neutralise("plain") == "plain" and export.neutralise(-5.0) == -5.0


@pytest.mark.slow
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


@pytest.mark.slow
def test_charts_render_offline_as_png_and_svg() -> None:
    from explorer import charts as C

    r = evaluate(Scenario(), CAT)
    chart = C.build_all(C.chart_data(r, CAT))["cost_per_request"]
    assert export.chart_png(chart).startswith(b"\x89PNG")
    assert "<svg" in export.chart_svg(chart)


@pytest.mark.slow
def test_report_has_headline_charts_assumptions_and_sources() -> None:
    r = evaluate(Scenario(), CAT)
    page = export.report_html(r, CAT)
    assert r.recommendation.name in page
    assert page.count("<svg") == 8  # the page's six charts, the tornado and the break-even map
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


def _scratch() -> set[str]:
    return set(glob.glob(str(Path(tempfile.gettempdir()) / "accel-explorer-upload-*")))


@pytest.fixture(autouse=True)
def _no_scratch_left():
    """Uploads are read in memory: none of them, accepted or refused, leaves a folder behind."""
    before = _scratch()
    yield
    assert _scratch() <= before, f"left behind: {sorted(_scratch() - before)}"


def test_scenario_upload() -> None:
    s = Scenario(requests_per_day=4e9, deployment="edge")
    assert scenario_from_upload(_upload("s.json", s.to_json())) == s
    assert scenario_from_upload(_upload("s.json", b"\xef\xbb\xbf" + s.to_json().encode()), CAT) == s
    with pytest.raises(UploadError, match=r"^s.json: malformed JSON \(.* at line 1, column 2\)"):
        scenario_from_upload(_upload("s.json", "{oops"))
    with pytest.raises(UploadError, match=r"^s.json: utilization: 5 is not allowed"):
        scenario_from_upload(_upload("s.json", json.dumps({"utilization": 5})))
    with pytest.raises(UploadError, match="too large; allowed: up to"):
        scenario_from_upload(_upload("s.json", b" " * (MAX_UPLOAD_BYTES + 1)))


SCENARIO_REFUSED = [
    ('{"requests_per_day": 1' + "0" * 400 + "}", "a number 401 characters long"),
    ('{"requests_per_day": 1e400}', "requests_per_day: inf is not allowed"),
    ("[" * 100_000 + "]" * 100_000, "nested more than 32 levels deep"),
    ('{"workload": "gpt-9", "requests_per_day": 7e9}', "workload: gpt-9 is not allowed; allowed: bert-large"),
    ('{"region": "atlantis"}', "region: 'atlantis' is not a region in the catalog"),
    ('{"colour": "blue"}', "colour: "),
    ('"just a string"', "allowed: a JSON object"),
    ("", "the file is empty"),
]


@pytest.mark.parametrize(("text", "fragment"), SCENARIO_REFUSED, ids=lambda x: str(x)[:24])
def test_a_bad_scenario_file_is_refused_whole(text: str, fragment: str) -> None:
    with pytest.raises(UploadError) as info:
        scenario_from_upload(_upload("mine.json", text), CAT)
    assert str(info.value).startswith("mine.json: ") and fragment in str(info.value), str(info.value)


H100 = "nvidia-h100-sxm"
HEADER = "device,price_type,price,unit,as_of,source_title,source_url\n"
PRICES = (
    HEADER + "nvidia-h100-sxm,purchase,21000,USD,2026-10-01,Our quote Q-1,https://intranet.example.com/q1\n"
    "nvidia-l4,cloud,0.5,USD/hour,2026-10-01,Our contract C-7,https://intranet.example.com/c7\n"
)
H100_CLOUD = (
    HEADER + "H100 SXM,cloud,2.50,USD/GPU-hour,2026-10-01,Our contract C-9,https://intranet.example.com/c9\n"
)


def _expected(tmp_path: Path, provider_offer: str, scenario: Scenario):
    """The same scenario on the catalog whose H100 SXM cloud offers are exactly `provider_offer`, loaded as
    a catalog folder (the independent way): what the app must show after the upload."""
    prices = tmp_path / "prices"
    prices.mkdir(exist_ok=True)
    (prices / f"{H100}.toml").write_text(
        f'device = "{H100}"\n{provider_offer}\n[sources.q]\ntitle = "q"\nurl = "https://q.example"\n'
        "retrieved = 2026-10-01\n",
        encoding="utf-8",
    )
    return evaluate(scenario, load_catalog(tmp_path, use_env=False))


@pytest.mark.slow
def test_a_price_csv_adds_an_offer_that_counts_in_every_market(tmp_path: Path) -> None:
    uploads = SessionUploads(CAT)
    uploads.commit(uploads.plan_add(_upload("prices.csv", H100_CLOUD)))
    cat = uploads.cat
    mine = cat.cloud_prices[cat.cloud_prices.device_id == H100]
    assert len(mine) == len(CAT.cloud_prices[CAT.cloud_prices.device_id == H100]) + 1, "the others are kept"
    assert uploads.changes == [
        ["prices.csv (row 2): NVIDIA H100 SXM5 80GB, cloud, $2.50 per chip-hour (was $6.88, AWS p5.48xlarge)"]
    ]
    offer = '[[cloud]]\nprovider = "AWS"\ninstance = "x"\nregion = "y"\nchips = 1\n'
    offer += 'price = { value = 2.5, unit = "USD/hour", as_of = 2026-10-01, source = "q" }'
    for market in ("major-clouds", "any-provider"):
        # on demand: the expected catalog below names AWS, whose 1-year discount a contract price lacks
        s = Scenario(cloud_market=market, cloud_pricing="on-demand")
        o = evaluate(s, cat).option(H100)
        assert o.available and o.price_source.startswith("your upload, prices.csv (row 2): Our contract C-9")
        expected = _expected(tmp_path, offer, s).option(H100)
        assert o.tco_usd == expected.tco_usd and o.devices_needed == expected.devices_needed
        assert o.tco_usd < evaluate(s, CAT).option(H100).tco_usd
    # the catalog itself is untouched
    assert H100 not in set(load_catalog().cloud_prices.query("price_usd_per_chip_hour == 2.5").device_id)


@pytest.mark.slow
def test_uploads_accumulate_and_each_can_be_removed() -> None:
    uploads = SessionUploads(CAT)
    uploads.commit(uploads.plan_add(_upload("cloud.csv", H100_CLOUD)))
    uploads.commit(uploads.plan_add(_upload("prices.csv", PRICES), "any-provider"))
    r = evaluate(Scenario(), uploads.cat)
    assert r.option(H100).price_source.startswith("your upload, cloud.csv")
    assert r.option("nvidia-l4").price_source.startswith("your upload, prices.csv (row 3)")
    bare = evaluate(Scenario(deployment="bare-metal"), uploads.cat).option(H100)
    assert bare.price_source.startswith("your upload, prices.csv (row 2): Our quote Q-1, $21,000 per device")
    assert [len(c) for c in uploads.changes] == [1, 2]
    assert "purchase, $21,000 per device (was $30,000)" in uploads.changes[1][0]
    uploads.commit(uploads.plan_remove(0))  # the first goes, the second stays
    r = evaluate(Scenario(), uploads.cat)
    assert r.option(H100).price_source == evaluate(Scenario(), CAT).option(H100).price_source
    assert r.option("nvidia-l4").price_source.startswith("your upload, prices.csv")
    uploads.commit(uploads.plan_remove(0))
    assert uploads.cat is CAT and uploads.items == ()


def test_an_override_of_a_catalog_offer_replaces_it() -> None:
    row = "nvidia-h100-sxm,cloud,60,USD/hour,2026-10-01,Renegotiated,https://intranet.example.com/r\n"
    text = (
        HEADER.rstrip("\n")
        + ",provider,instance,region,chips\n"
        + row.rstrip("\n")
        + ",aws,P5.48xlarge,us-east-1,8\n"
    )
    uploads = SessionUploads(CAT)
    uploads.commit(uploads.plan_add(_upload("aws.csv", text)))
    mine = uploads.cat.cloud_prices[uploads.cat.cloud_prices.device_id == H100]
    before = CAT.cloud_prices[CAT.cloud_prices.device_id == H100]
    # the catalog's AWS offer replaced by the upload's, every other offer kept
    kept = list(before.price_usd_per_hour)
    kept.remove(55.04)  # AWS p5.48xlarge, us-east-1
    assert sorted(mine.price_usd_per_hour) == sorted([*kept, 60])
    assert "$7.50 per chip-hour (was $6.88, AWS p5.48xlarge)" in uploads.changes[0][0]


def test_spreadsheet_csv_dialects_are_read() -> None:
    """Excel's 'CSV UTF-8' (a byte-order mark), semicolons, and a decimal comma where it is unambiguous."""
    text = (
        "\ufeff"
        + HEADER.replace(",", ";")
        + (
            "nvidia-l4;cloud;0,35;USD/chip-hour;2026-10-01;Quote;https://intranet.example.com/q\r\n\r\n"
            "NVIDIA H100 SXM5 80GB;purchase;$21000;usd;2026-10-01;Quote 2;https://intranet.example.com/q2\r\n"
        )
    )
    up = read_hardware_upload(_upload("excel.csv", text.encode("utf-8")), CAT)
    assert [(o.device_id, o.kind, o.price) for o in up.offers] == [
        ("nvidia-l4", "cloud", 0.35),
        (H100, "purchase", 21000.0),
    ]


PRICE_CSV_REFUSED = [
    (("21000", "lots"), "prices.csv, row 2, column price: 'lots' is not a number; allowed: a number above 0"),
    (("21000", "1" + "0" * 400), "prices.csv, row 2, column price: a number 401 characters long"),
    (("21000", "-21000"), "prices.csv, row 2, column price: '-21000' is not above 0"),
    (("21000", "nan"), "prices.csv, row 2, column price: 'nan' is not a number"),
    (("21000", "9e99"), "prices.csv, row 2, column price: $9e+99 per device is outside the plausible range"),
    (
        ("21000", '"21,5"'),
        "prices.csv, row 2, column price: '21,5' has a comma; allowed: a number with a decimal point",
    ),
    (
        ("0.5,USD", "0,5,USD"),
        "prices.csv, row 3: 8 cells but the header has 7 columns (a decimal comma such as 2,50",
    ),
    (
        ("nvidia-l4,cloud", "nvidia-l5,cloud"),
        "prices.csv, row 3, column device: 'nvidia-l5' is not a device in the catalog (did you mean "
        "nvidia-l4",
    ),
    (  # a model number decides the suggestion, not the closest spelling (which was nvidia-h100-sxm)
        ("nvidia-l4,cloud", "H200 SXM,cloud"),
        "prices.csv, row 3, column device: 'H200 SXM' is not a device in the catalog (did you mean "
        "nvidia-h200?)",
    ),
    (
        ("nvidia-l4,cloud", "L40,cloud"),
        "prices.csv, row 3, column device: 'L40' is not a device in the catalog (did you mean nvidia-l40s?)",
    ),
    (
        ("purchase,21000", "lease,21000"),
        "prices.csv, row 2, column price_type: 'lease' is not allowed; allowed: cloud, purchase",
    ),
    (("Our contract C-7", ""), "prices.csv, row 3, column source_title: empty"),
    (
        ("21000,USD", "21000,EUR"),
        "prices.csv, row 2, column unit: 'EUR' is not allowed for a purchase price; allowed for cloud: "
        "USD/chip-hour",
    ),
    (("0.5,USD/hour", "0.5,USD"), "prices.csv, row 3, column unit: 'USD' is not allowed for a cloud price"),
    (
        ("2026-10-01,Our quote", "01/10/2026,Our quote"),
        "prices.csv, row 2, column as_of: '01/10/2026' is not a date; allowed: year-month-day",
    ),
    (
        ("https://intranet.example.com/q1", "file:///etc/passwd"),
        "prices.csv, row 2, column source_url: 'file:///etc/passwd' is not a link",
    ),
    (
        ("source_url\n", "link\n"),
        "prices.csv, row 1: column 'link' is not allowed; allowed columns: device, price_type",
    ),
    (("source_title,source_url\n", "source_title\n"), "prices.csv, row 1: missing column(s) source_url"),
    (
        ("nvidia-l4,cloud,0.5,USD/hour", "nvidia-h100-sxm,purchase,5,USD"),
        "prices.csv, row 3: prices the same purchase offer for nvidia-h100-sxm as row 2",
    ),
]


@pytest.mark.parametrize(
    ("replace", "message"), PRICE_CSV_REFUSED, ids=lambda x: x[1][:16] if isinstance(x, tuple) else None
)
def test_a_bad_price_csv_names_file_row_and_column(replace: tuple[str, str], message: str) -> None:
    text = PRICES.replace(*replace)
    assert text != PRICES
    with pytest.raises(UploadError) as info:
        SessionUploads(CAT).plan_add(_upload("prices.csv", text))
    assert str(info.value).startswith(message), str(info.value)
    assert "/tmp" not in str(info.value) and "prices/" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("p.csv", "\ufeff".encode("utf-16"), "p.csv: UTF-16 encoded; a price CSV must be UTF-8"),
        ("p.csv", b"device,price\xff", "p.csv: not UTF-8 (byte 0xff at position 12 cannot be decoded)"),
        ("p.csv", HEADER, "p.csv: no price rows under the header"),
        ("p.csv", "device;price_type\n", "p.csv, row 1: missing column(s) price, unit"),
        ("p.csv", HEADER + '"unclosed\n', "p.csv, row 2: not valid CSV"),
        (  # a value under a column the header leaves unnamed was dropped without a word
            "p.csv",
            HEADER.replace("\n", ",\n")
            + "nvidia-h100-sxm,cloud,2.50,USD/GPU-hour,2026-10-01,C-9,https://intranet.example.com/c9,EUR\n",
            "p.csv, row 2, column 8: 'EUR' is under a column with no name in the header",
        ),
        ("p.csv", HEADER + ("x," * 7 + "\n") * (1002), "p.csv: more than 1,000 price rows"),
        ("../../etc/p.csv", "   ", "p.csv: the file is empty"),
        ("notes.txt", "hello", "notes.txt: not allowed; allowed: a price .csv"),
        (
            "d.toml",
            'kind = "gpu"\nname = [' * 1 + "1" * 400 + "]\n",
            "d.toml: name.[0]: a 400-digit integer is out of range",
        ),
        ("d.toml", "a = " + "[" * 5000 + "]" * 5000, "d.toml: nested more than 32 levels deep"),
        (
            "d.toml",
            'kind = "gpu"\n= broken\n',
            "d.toml: not valid TOML: Invalid statement (at line 2, column 1)",
        ),
        ("d.toml", 'title = "x"\n', "d.toml: neither a price file"),
        ("Our L4.toml", 'kind = "gpu"\n', "Our L4.toml: the file name gives the device's id"),
    ],
    ids=lambda x: str(x)[:20],
)
def test_a_bad_hardware_file_is_refused_with_a_message(name: str, content: str | bytes, message: str) -> None:
    with pytest.raises(UploadError) as info:
        SessionUploads(CAT).plan_add(_upload(name, content))
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.slow
def test_device_and_price_files_in_the_catalog_format() -> None:
    text = (CATALOG / "devices" / "nvidia-l4.toml").read_text().replace('name = "', 'name = "Our ', 1)
    uploads = SessionUploads(CAT)
    uploads.commit(uploads.plan_add(_upload("our-l4.toml", text)))
    assert "our-l4" in set(uploads.cat.devices.id)
    assert uploads.changes[0][0].startswith("our-l4.toml: adds the device Our NVIDIA L4")
    prov = uploads.cat.provenance
    assert set(prov[prov.item == "our-l4"].source_title.str.slice(0, 24)) == {"your upload, our-l4.toml"}
    # a price for the uploaded device, by a second upload
    row = "our-l4,cloud,0.4,USD/chip-hour,2026-10-01,Q,https://intranet.example.com/q\n"
    uploads.commit(uploads.plan_add(_upload("our.csv", HEADER + row)))
    assert evaluate(Scenario(), uploads.cat).option("our-l4").available
    with pytest.raises(UploadError, match=r"our-l4\.toml cannot be removed while another upload needs it"):
        uploads.plan_remove(0)
    # a price file in the catalog's format adds its offers (it does not replace the device's list)
    price_file = (CATALOG / "prices" / "nvidia-l4.toml").read_text()
    uploads.commit(uploads.plan_add(_upload("l4-prices.toml", price_file)))
    l4 = uploads.cat.cloud_prices[uploads.cat.cloud_prices.device_id == "nvidia-l4"]
    assert len(l4) == len(
        CAT.cloud_prices[CAT.cloud_prices.device_id == "nvidia-l4"]
    )  # same offers: replaced
    assert l4.source_title.str.startswith("your upload, l4-prices.toml").all()


@pytest.mark.slow
def test_figures_from_an_upload_name_it_everywhere() -> None:
    """Headline reasons, chart tooltips, the CSV and the report: "your upload, <file>"."""
    from explorer import charts as C

    uploads = SessionUploads(CAT)
    row = "H100 SXM,cloud,0.5,USD/GPU-hour,2026-10-01,Our contract C-9,https://intranet.example.com/c9\n"
    uploads.commit(uploads.plan_add(_upload("prices.csv", HEADER + row)))
    r = evaluate(Scenario(), uploads.cat)
    assert r.recommendation.device_id == H100
    assert any("priced with your upload, prices.csv (row 2)" in x for x in r.recommendation.reasons)
    data = C.chart_data(r, uploads.cat)
    tooltip_rows = [v for v in data["options"]["price_source"] if "your upload, prices.csv" in v]
    assert len(tooltip_rows) == 1
    rows = list(csv.DictReader(io.StringIO(export.results_csv(r))))
    assert next(x for x in rows if x["device_id"] == H100)["price_source"].startswith(
        "your upload, prices.csv"
    )
    page = export.report_html(r, uploads.cat)
    assert "your upload, prices.csv: Our contract C-9" in page and "priced with your upload" in page


# -- the upload controls (as the browser drives them: FileUpload values, button clicks) ----------------


def _panel():
    from explorer.app import share_panel
    from explorer.widgets import Explorer

    explorer = Explorer(CAT)
    return explorer, share_panel(explorer)


def _parts(widget, dom_class: str) -> list:
    """The widgets under `widget` (itself included) that carry `dom_class`, in the order shown: a named part
    found by what it is, not by where it sits."""
    found = [widget] if dom_class in getattr(widget, "_dom_classes", ()) else []
    for child in getattr(widget, "children", ()):
        found += _parts(child, dom_class)
    return found


def _contains(widget, part) -> bool:
    return widget is part or any(_contains(child, part) for child in getattr(widget, "children", ()))


def _state(explorer, panel) -> tuple:
    return (
        explorer.cat,
        explorer.result.scenario,
        explorer.headline.value,
        explorer.controls.value,
        panel.uploads.sessions.items,
        [changed.value for changed in _parts(panel.uploads.listing, "ax-upload-changes")],
        list(panel.uploads.keeper.files),
    )


@pytest.fixture(scope="module")
def entered() -> tuple:
    """A page where the visitor has entered something: a volume, and an upload (shared by the cases below,
    each of which must leave it exactly as it was)."""
    explorer, panel = _panel()
    explorer.controls.fields["requests_per_day"].value = 3e9
    return explorer, panel


REFUSED_IN_THE_PAGE = [
    ("hardware", "prices.csv", PRICES.replace("21000", "-5"), "row 2, column price: '-5' is not above 0"),
    ("hardware", "prices.csv", PRICES.replace("21000", "9" * 400), "a number 400 characters long"),
    ("hardware", "excel.csv", "\ufeffdevice;price\n", "row 1: missing column(s) price_type"),
    ("hardware", "prices.csv", PRICES.replace("nvidia-l4,", "gpu-9000,"), "'gpu-9000' is not a device"),
    ("hardware", "deep.toml", "a = " + "[" * 3000 + "]" * 3000, "nested more than 32 levels deep"),
    ("hardware", "d.toml", "kind = \n", "not valid TOML"),
    ("scenario", "s.json", '{"workload": "gpt-9", "requests_per_day": 7e9}', "gpt-9 is not allowed"),
    ("scenario", "s.json", '{"requests_per_day": ' + "9" * 400 + "}", "a number 400 characters long"),
    ("scenario", "s.json", "[" * 50_000, "nested more than 32 levels deep"),
    ("scenario", "s.json", '{"utilization": 7}', "utilization: 7 is not allowed"),
]


@pytest.mark.parametrize(
    ("control", "name", "text", "fragment"), REFUSED_IN_THE_PAGE, ids=lambda x: str(x)[:20]
)
@pytest.mark.slow
def test_every_refused_upload_says_why_and_changes_nothing(
    entered: tuple, control: str, name: str, text: str, fragment: str
) -> None:
    explorer, panel = entered
    while panel.uploads.sessions.items:
        panel.uploads.remove(0)
    panel.uploads.hardware.value = [_upload("first.csv", H100_CLOUD)]  # "Added" shown before
    assert "Added first.csv" in panel.status.value
    before = _state(explorer, panel)
    getattr(panel.uploads, control).value = [_upload(name, text)]
    status = panel.status.value
    assert "ax-error" in status and "Upload refused" in status and "Added" not in status
    assert html.escape(name) in status and html.escape(fragment) in status, status
    assert "Nothing was changed" in status and "Traceback" not in status and "/tmp" not in status
    assert _state(explorer, panel) == before
    assert getattr(panel.uploads, control).value == (), "emptied: the same file can be sent again"


@pytest.mark.slow
def test_an_unexpected_failure_is_said_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer import uploads

    explorer, panel = _panel()
    panel.uploads.hardware.value = [_upload("first.csv", H100_CLOUD)]
    before = _state(explorer, panel)

    def broken(*_args, **_kwargs):
        raise KeyError("/srv/secret/path")

    monkeypatch.setattr(uploads, "read_hardware_upload", broken)
    panel.uploads.hardware.value = [_upload("second.csv", PRICES)]
    status = panel.status.value
    assert "Upload refused: second.csv could not be read (KeyError)" in status and "/srv" not in status
    assert _state(explorer, panel) == before


@pytest.mark.slow
def test_the_page_lists_each_upload_and_removes_it() -> None:
    explorer, panel = _panel()
    up = panel.uploads
    up.hardware.value = [_upload("cloud.csv", H100_CLOUD)]
    up.hardware.value = [_upload("prices.csv", PRICES)]
    assert len(up.listing.children) == 2
    (remove, *_), (text, *_) = (_parts(up.listing, c) for c in ("ax-upload-remove", "ax-upload-changes"))
    assert remove.description == "Remove cloud.csv" and "$2.50 per chip-hour (was $6.88" in text.value
    assert explorer.result.option(H100).price_source.startswith("your upload, cloud.csv")
    assert [f["name"] for f in up.keeper.files] == ["cloud.csv", "prices.csv"]
    remove.click()
    assert "Removed cloud.csv" in panel.status.value and len(up.listing.children) == 1
    assert explorer.result.option(H100).price_source == evaluate(Scenario(), CAT).option(H100).price_source
    assert explorer.result.option("nvidia-l4").price_source.startswith("your upload, prices.csv")
    assert [f["name"] for f in up.keeper.files] == ["prices.csv"]


@pytest.mark.slow
def test_a_scenario_upload_applies_in_one_update() -> None:
    explorer, panel = _panel()
    s = Scenario(requests_per_day=4e9, deployment="edge", workload="resnet-50")
    before = explorer.evaluations
    panel.uploads.scenario.value = [_upload("mine.json", s.to_json())]
    assert "Restored the scenario from mine.json" in panel.status.value
    assert explorer.result.scenario == s and explorer.evaluations == before + 1


@pytest.mark.slow
def test_a_reloaded_page_gets_its_uploads_back_checked_again() -> None:
    """After a killed kernel, the browser tab hands the accepted uploads to the new kernel (UploadKeeper)."""
    explorer, panel = _panel()
    panel.uploads.hardware.value = [_upload("cloud.csv", H100_CLOUD)]
    kept = list(panel.uploads.keeper.files)
    fresh, new_panel = _panel()
    bad = {"name": "evil.csv", "b64": base64.b64encode(PRICES.replace("21000", "-1").encode()).decode()}
    for junk in (
        None,
        [],
        {"kind": "other"},
        {"kind": "restore", "files": "x"},
        {"kind": "restore", "files": [{"b64": "%%"}]},
    ):
        new_panel.uploads.restore(None, junk, [])
        assert fresh.cat is CAT and new_panel.status.value == ""
        assert new_panel.tools.selected_index is None, "nothing to say: the tools stay collapsed"
    new_panel.uploads.restore(None, {"kind": "restore", "files": [*kept, bad]}, [])
    status = new_panel.status.value
    assert new_panel.tools.selected_index == 0, "opened, so that what was restored is seen"
    assert "before the reload were checked again and are in use: cloud.csv" in status
    assert "Not restored, please upload again: evil.csv, row 2, column price" in status
    assert fresh.result.option(H100).price_source == explorer.result.option(H100).price_source
    assert fresh.result.option(H100).tco_usd == explorer.result.option(H100).tco_usd
    new_panel.uploads.restore(None, {"kind": "restore", "files": kept}, [])  # only once
    assert len(new_panel.uploads.sessions.items) == 1


@pytest.mark.slow
def test_download_buttons_send_files() -> None:
    _explorer, panel = _panel()
    for b in panel.buttons.values():
        b.click()
    assert [n.rsplit(".", 1)[1] for n in panel.downloader.sent] == ["json", "csv", "html", "png", "svg"]
    assert "failed" not in panel.status.value


@pytest.mark.slow
def test_the_app_has_the_upload_controls() -> None:
    app = explorer_app(CAT)
    uploads = app.share.uploads
    assert (uploads.scenario.accept, uploads.hardware.accept) == (".json", ".csv,.toml")
    assert _contains(app.share.tools, uploads.row), "shown in the collapsed tools"
    uploads.hardware.value = [_upload("prices.csv", PRICES)]
    assert app.explorer.cat is not CAT
    assert app.explorer.result.option("nvidia-l4").price_source.startswith("your upload, prices.csv")
