"""Bad files are rejected with a message naming the file, the field, what is wrong and what is allowed;
a user's folder adds or overrides items."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from explorer.catalog import CatalogError, load_catalog

BASE_DEVICE = "nvidia-h100-sxm"


def _load_expecting(catalog: Path, *user: Path) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        load_catalog(*user, base=catalog, use_env=False)
    return info.value


def _edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert n == 1, f"pattern {pattern!r} not found in {path}"
    path.write_text(new, encoding="utf-8")


def test_copy_of_catalog_loads(catalog_copy: Path) -> None:
    cat = load_catalog(base=catalog_copy, use_env=False)
    assert BASE_DEVICE in set(cat.devices.id)


def test_missing_source_is_rejected(catalog_copy: Path) -> None:
    f = catalog_copy / "devices" / f"{BASE_DEVICE}.toml"
    _edit(f, r'^(power = \{.*?), source = (\[[^\]]*\]|"[^"]+")', r"\1")
    err = _load_expecting(catalog_copy)
    msg = str(err)
    assert f"{BASE_DEVICE}.toml: power: missing 'source'" in msg


def test_undefined_source_key_is_rejected(catalog_copy: Path) -> None:
    f = catalog_copy / "devices" / f"{BASE_DEVICE}.toml"
    _edit(f, r'^(power = \{.*?source = )(\[[^\]]*\]|"[^"]+")', r'\1"no-such-source"')
    msg = str(_load_expecting(catalog_copy))
    assert "power.source: 'no-such-source' is not defined in [sources]; defined:" in msg


def test_unknown_unit_is_rejected_with_allowed_units(catalog_copy: Path) -> None:
    f = catalog_copy / "devices" / f"{BASE_DEVICE}.toml"
    _edit(f, r'^(power = \{.*?unit = )"W"', r'\1"Watt"')
    msg = str(_load_expecting(catalog_copy))
    assert "power.unit: unknown unit 'Watt' for this field; allowed: W, kW, mW" in msg


def test_negative_power_is_rejected(catalog_copy: Path) -> None:
    f = catalog_copy / "devices" / f"{BASE_DEVICE}.toml"
    _edit(f, r"^(power = \{ *value = )(\d+)", r"\1-\2")
    msg = str(_load_expecting(catalog_copy))
    assert re.search(r"power\.value: -\d+ must be positive", msg), msg


def test_implausible_value_is_rejected(catalog_copy: Path) -> None:
    f = catalog_copy / "devices" / f"{BASE_DEVICE}.toml"
    _edit(f, r"^(power = \{ *value = )(\d+)", r"\g<1>7000000")
    msg = str(_load_expecting(catalog_copy))
    assert "power.value: 7000000 W is outside the plausible range" in msg


def test_malformed_toml_names_file_and_line(catalog_copy: Path) -> None:
    f = catalog_copy / "devices" / f"{BASE_DEVICE}.toml"
    f.write_text(f.read_text(encoding="utf-8") + "\nthis is not toml\n", encoding="utf-8")
    msg = str(_load_expecting(catalog_copy))
    assert f"{BASE_DEVICE}.toml: malformed TOML:" in msg
    assert "line" in msg


def test_estimate_without_method_is_rejected(catalog_copy: Path) -> None:
    f = catalog_copy / "devices" / f"{BASE_DEVICE}.toml"
    _edit(f, r"^(power = \{ *)", r"\1estimate = true, ")
    text = f.read_text(encoding="utf-8")
    if "method" in text.split("power = {", 1)[1].split("\n", 1)[0]:
        pytest.skip("this power record already carries a method")
    msg = str(_load_expecting(catalog_copy))
    assert "power.method: an estimate needs 'method'" in msg


def test_bad_choice_lists_allowed_values(catalog_copy: Path) -> None:
    f = catalog_copy / "devices" / f"{BASE_DEVICE}.toml"
    _edit(f, r'^kind = "gpu"', 'kind = "tpu"')
    msg = str(_load_expecting(catalog_copy))
    assert "kind: 'tpu' is not allowed; allowed: gpu, accelerator" in msg


def test_unknown_result_precision_lists_allowed_formats(catalog_copy: Path) -> None:
    f = catalog_copy / "results" / "resnet-50.toml"
    _edit(f, r'^compute_precision = "bf16"', 'compute_precision = "tf32"')
    msg = str(_load_expecting(catalog_copy))
    assert "compute_precision: 'tf32' is not allowed; allowed: int8, fp8, bf16, fp16" in msg


def test_every_problem_is_reported_not_just_the_first(catalog_copy: Path) -> None:
    f = catalog_copy / "devices" / f"{BASE_DEVICE}.toml"
    _edit(f, r'^kind = "gpu"', 'kind = "tpu"')
    _edit(f, r'^segment = "datacenter"', 'segment = "space"')
    err = _load_expecting(catalog_copy)
    assert {i.field for i in err.issues} >= {"kind", "segment"}


# -- user folders: add and override ----------------------------------------------------------------


@pytest.mark.slow
def test_user_folder_overrides_a_purchase_price(catalog_copy: Path, tmp_path: Path) -> None:
    user = tmp_path / "mine"
    (user / "prices").mkdir(parents=True)
    (user / "prices" / f"{BASE_DEVICE}.toml").write_text(
        f'device = "{BASE_DEVICE}"\n'
        "[purchase]\n"
        'price = { value = 21000, unit = "USD", as_of = 2026-10-01, source = "quote" }\n'
        "[sources.quote]\n"
        'title = "Our negotiated quote Q-1234"\nurl = "https://intranet.example.com/q-1234"\n'
        "retrieved = 2026-10-02\n",
        encoding="utf-8",
    )
    base = load_catalog(base=catalog_copy, use_env=False)
    mine = load_catalog(user, base=catalog_copy, use_env=False)
    price = mine.purchase_prices.set_index("device_id").loc[BASE_DEVICE]
    assert price.price_usd == 21000
    assert price.source_title == "Our negotiated quote Q-1234"
    # cloud prices of the built-in file survive the override (tables merge, only [purchase] is replaced)
    assert len(mine.cloud_prices[mine.cloud_prices.device_id == BASE_DEVICE]) == len(
        base.cloud_prices[base.cloud_prices.device_id == BASE_DEVICE]
    )


def test_user_folder_adds_a_device(catalog_copy: Path, tmp_path: Path) -> None:
    user = tmp_path / "mine"
    (user / "devices").mkdir(parents=True)
    src = (catalog_copy / "devices" / f"{BASE_DEVICE}.toml").read_text(encoding="utf-8")
    (user / "devices" / "our-h100-variant.toml").write_text(
        src.replace('name = "', 'name = "Our ', 1), encoding="utf-8"
    )
    cat = load_catalog(user, base=catalog_copy, use_env=False)
    assert "our-h100-variant" in set(cat.devices.id)
    assert cat.devices.set_index("id").loc["our-h100-variant", "name"].startswith("Our ")


def test_user_folder_from_environment(
    catalog_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "env-mine"
    (user / "devices").mkdir(parents=True)
    src = (catalog_copy / "devices" / f"{BASE_DEVICE}.toml").read_text(encoding="utf-8")
    (user / "devices" / "env-device.toml").write_text(src, encoding="utf-8")
    monkeypatch.setenv("ACCEL_EXPLORER_CATALOG", str(user))
    cat = load_catalog(base=catalog_copy)
    assert "env-device" in set(cat.devices.id)


def test_bad_override_names_the_user_file(catalog_copy: Path, tmp_path: Path) -> None:
    user = tmp_path / "mine"
    (user / "devices").mkdir(parents=True)
    (user / "devices" / f"{BASE_DEVICE}.toml").write_text(
        'power = { value = -5, unit = "W", basis = "rated", boundary = "board", source = "datasheet" }\n',
        encoding="utf-8",
    )
    msg = str(_load_expecting(catalog_copy, user))
    assert f"mine/devices/{BASE_DEVICE}.toml" in msg
    assert "power.value: -5 must be positive" in msg


def test_stray_user_file_is_reported(catalog_copy: Path, tmp_path: Path) -> None:
    user = tmp_path / "mine"
    user.mkdir()
    (user / "h100.toml").write_text('name = "x"\n', encoding="utf-8")
    msg = str(_load_expecting(catalog_copy, user))
    assert "h100.toml: not in a catalog folder; put it in one of devices/" in msg


def test_bad_id_is_rejected(catalog_copy: Path) -> None:
    src = catalog_copy / "devices" / f"{BASE_DEVICE}.toml"
    (catalog_copy / "devices" / "NVIDIA_H100.toml").write_text(
        src.read_text(encoding="utf-8"), encoding="utf-8"
    )
    msg = str(_load_expecting(catalog_copy))
    assert "'NVIDIA_H100' is not a lower-kebab id" in msg


def test_result_naming_unknown_device_is_rejected(catalog_copy: Path) -> None:
    f = next((catalog_copy / "results").glob("*.toml"))
    _edit(f, r'^device = "[^"]+"', 'device = "no-such-device"')
    msg = str(_load_expecting(catalog_copy))
    assert "'no-such-device' is not a device in the catalog" in msg


def test_market_point_setting_an_unknown_assumption_is_rejected(catalog_copy: Path) -> None:
    """A point that says the catalog takes a figure from it names an assumption the catalog has."""
    f = catalog_copy / "market" / "semianalysis-inferencex-llama-3.3-70b-b200.toml"
    _edit(f, r'^calibrates = "[^"]+"', 'calibrates = "decode_step_fixed_per_layer_no_such_device"')
    msg = str(_load_expecting(catalog_copy))
    # the file's first calibrates line is its 76 tokens/s point's (point[0])
    assert "point[0].calibrates: 'decode_step_fixed_per_layer_no_such_device' is not an assumption" in msg


# -- hostile files in a user's folder (issue 13.7): refused before reading, one issue each ----------------


def _user_dir(tmp_path: Path) -> Path:
    (tmp_path / "mine" / "devices").mkdir(parents=True)
    return tmp_path / "mine"


def test_a_fifo_is_refused_without_waiting(catalog_copy: Path, tmp_path: Path) -> None:
    import os

    user = _user_dir(tmp_path)
    os.mkfifo(user / "devices" / "x.toml")  # opening it for reading would wait for a writer forever
    err = _load_expecting(catalog_copy, user)
    assert [str(i) for i in err.issues] == [
        f"{user}/devices/x.toml: is a FIFO (named pipe); only regular files are read"
    ]


def test_a_link_to_a_regular_file_is_read(catalog_copy: Path, tmp_path: Path) -> None:
    user = _user_dir(tmp_path)
    real = tmp_path / "elsewhere.toml"
    real.write_text((catalog_copy / "devices" / f"{BASE_DEVICE}.toml").read_text(encoding="utf-8"), "utf-8")
    _edit(real, r'^name = ".*"', 'name = "Linked H100"')
    (user / "devices" / f"{BASE_DEVICE}.toml").symlink_to(real)
    cat = load_catalog(user, base=catalog_copy, use_env=False)
    assert cat.devices.set_index("id").loc[BASE_DEVICE, "name"] == "Linked H100"


def test_device_files_are_refused_before_a_byte_is_read() -> None:
    from explorer.catalog.files import InputRefused, read_bytes

    with pytest.raises(InputRefused, match="is a character device; only regular files are read"):
        read_bytes("/dev/zero", 1000)
    with pytest.raises(InputRefused, match="is a folder"):
        read_bytes("/", 1000)


@pytest.mark.slow
def test_a_folder_with_too_many_entries_is_one_issue(catalog_copy: Path, tmp_path: Path) -> None:
    from explorer.catalog.load import MAX_FOLDER_ENTRIES

    user = _user_dir(tmp_path)
    for i in range(MAX_FOLDER_ENTRIES + 1):
        (user / "devices" / f"junk-{i}.txt").touch()
    err = _load_expecting(catalog_copy, user)
    assert len(err.issues) == 1 and "holds more than 10,000 files and folders" in str(err)


def test_date_times_become_dates(catalog_copy: Path) -> None:
    import datetime as dt

    f = catalog_copy / "devices" / f"{BASE_DEVICE}.toml"
    _edit(f, r"^retrieved = (\d{4}-\d{2}-\d{2})$", r"retrieved = \1T10:30:00+02:00")
    cat = load_catalog(base=catalog_copy, use_env=False)
    retrieved = cat.provenance[cat.provenance.item == BASE_DEVICE].retrieved
    assert all(type(d) is dt.date for d in retrieved)


def test_brackets_and_dots_inside_strings_are_not_nesting() -> None:
    from explorer.catalog.files import loads_toml

    doc = loads_toml('a = "' + "[" * 100 + "\"\nb = '" + ".x" * 100 + "'\nc = [[1], [2]]  # ]]]]\n")
    assert doc["c"] == [[1], [2]]


@pytest.mark.parametrize(
    "text",
    [
        '"' + "\\[" * 100_000,  # an unterminated string full of escapes
        '"""' + "[" * 200_000,
        "a" * 200_000,
        "a." * 31 + "a = 1\n" + ('"x' * 100_000),
    ],
    ids=["escapes", "open-multiline", "one-word", "quotes"],
)
def test_the_nesting_scan_is_linear(text: str) -> None:
    """A quadratic scan of a 200 kB file takes minutes; this one takes well under a second."""
    import time

    from explorer.catalog.files import check_nesting

    t0 = time.monotonic()
    for syntax in ("toml", "json"):
        check_nesting(text, syntax)
    assert time.monotonic() - t0 < 5
