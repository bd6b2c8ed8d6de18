"""The assumptions frame: the loader reads catalog/assumptions once, in canonical units, and the model and
the uncertainty analysis read that frame (never the TOML documents, never converting a unit again)."""

from __future__ import annotations

import ast
import math

import pytest

from explorer import uncertainty
from explorer.catalog import load_catalog
from explorer.catalog.assumptions import ASSUMPTION_COLUMNS, ASSUMPTION_UNITS, assumption_unit
from explorer.catalog.units import convert
from explorer.model.assumptions import assumption

from .conftest import REPO

CAT = load_catalog()

#: Modules outside explorer/catalog that still read ``Catalog.documents``, each with why. A new reader
#: fails; an entry that no longer reads them fails too, so the list only shrinks.
KNOWN_READERS = {
    # a session's uploads are applied over the catalog by rebuilding it from its documents (build_catalog)
    "explorer/uploads.py": "issue 16",
}


def test_every_assumption_is_one_row_in_its_canonical_unit() -> None:
    frame = CAT.assumptions
    assert list(frame.columns) == ASSUMPTION_COLUMNS and frame.index.is_unique
    assert set(ASSUMPTION_UNITS) <= set(frame.key), "every assumption the model reads is in the catalog"
    lifetime = frame.loc["hardware_lifetime_years"]
    assert (lifetime.unit, lifetime.printed_unit) == ("years", "years") and lifetime.value == 5
    for row in frame.itertuples():
        assert row.unit == assumption_unit(row.key, row.printed_unit), row.key
        assert row.source and row.file, row.key
        if not math.isnan(row.low):
            assert row.low <= row.value <= row.high, row.key


def test_the_model_and_the_uncertainty_read_the_same_figures() -> None:
    ranges = uncertainty._ranges(CAT)
    for key, unit in ASSUMPTION_UNITS.items():
        row = CAT.assumptions.loc[key]
        assert assumption(CAT, key) == row.value
        if key in ranges:
            assert ranges[key] == (row.low, row.value, row.high), key
        assert row.value == convert(row.value, unit, unit), "already in the model's unit"


def _readers() -> set[str]:
    """Modules outside explorer/catalog that access a `.documents` attribute."""
    found = set()
    for path in sorted((REPO / "explorer").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith("explorer/catalog/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.Attribute) and n.attr == "documents" for n in ast.walk(tree)):
            found.add(rel)
    return found


@pytest.mark.slow
def test_nothing_outside_the_catalog_reads_its_raw_documents() -> None:
    readers = _readers()
    assert readers <= set(KNOWN_READERS), (
        f"read Catalog's frames instead: {sorted(readers - set(KNOWN_READERS))}"
    )
    assert set(KNOWN_READERS) <= readers, (
        f"no longer reads them; drop: {sorted(set(KNOWN_READERS) - readers)}"
    )


def test_a_devices_own_fixed_step_time_in_the_wrong_unit_is_refused_by_name() -> None:
    """A device's own fixed time per decode step (``decode_step_fixed_per_layer_<device>``) is read as a time;
    a user's catalog that gives it in another unit gets the key and the unit it gave, not a wrong figure."""
    import dataclasses

    from explorer.calc import ModelError, fixed_step_s_per_layer

    a = CAT.assumptions.copy()
    key = "decode_step_fixed_per_layer_aws_inferentia2"
    assert fixed_step_s_per_layer(CAT, "aws-inferentia2") == pytest.approx(a.at[key, "value"] / 1e3)
    a.loc[key, ["unit", "printed_unit"]] = ["W", "W"]
    with pytest.raises(ModelError, match=r"decode_step_fixed_per_layer_aws_inferentia2.*in W"):
        fixed_step_s_per_layer(dataclasses.replace(CAT, assumptions=a), "aws-inferentia2")
