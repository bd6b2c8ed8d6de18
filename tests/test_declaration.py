"""The scenario is declared once (issue 16): adding a field is one edit, its FieldSpec, plus its use in the
model. Everything generated from the declaration is built here for every field from ``FIELD_SPECS`` alone
(the controls, the CLI flags, links and JSON), and no module that generates from it branches on a field's
name. The frameworks, deployments and the request-volume range are each declared once too.
"""

from __future__ import annotations

import ast
import math
from dataclasses import fields
from urllib.parse import parse_qsl

import ipywidgets as W
import pytest

from explorer import calc, fmt
from explorer.catalog import load_catalog, schema
from explorer.cli import build_parser, scenario_from_args
from explorer.controls import MixControl, ScenarioControls
from explorer.scenario import FIELD_SPECS, SPECS, FieldSpec, FrameworkMix, Scenario, known_ids

from .conftest import REPO

CAT = load_catalog()


def sample(spec: FieldSpec) -> object:
    """A value of the field other than its default, chosen from the declaration alone."""
    if spec.kind == "choice":
        return spec.choices[-1]
    if spec.kind == "id":
        return next(i for i in sorted(getattr(CAT, spec.ids).id) if i != spec.default)
    if spec.kind == "mix":
        return FrameworkMix.of({spec.choices[-1]: 1.0})
    if spec.kind == "text":
        return "x" * spec.max_length
    assert spec.bounds is not None
    return spec.bounds[0] if spec.scale == "log" else spec.bounds[1]  # a log slider holds 10**x exactly


#: Every field away from its default at once.
CHANGED = Scenario(**{spec.name: sample(spec) for spec in SPECS})


def test_every_field_differs_from_its_default_in_the_sample() -> None:
    assert all(getattr(CHANGED, s.name) != s.default for s in SPECS if s.kind != "mix")
    assert CHANGED.to_query(only_changed=True).count("=") == len(SPECS)


@pytest.fixture(scope="module")
def controls() -> ScenarioControls:
    return ScenarioControls(CAT, CHANGED)


def test_the_controls_hold_every_field_as_declared(controls: ScenarioControls) -> None:
    assert controls.scenario() == CHANGED
    assert set(controls.fields) == set(FIELD_SPECS)
    for spec in SPECS:
        w = controls.fields[spec.name]
        if spec.kind == "mix":
            assert isinstance(w, MixControl) and tuple(w.sliders) == spec.choices
            first = w.sliders[spec.choices[0]].description
            assert first.startswith(spec.label_of(spec.choices[0])), spec.name
        elif spec.kind == "choice":
            assert list(w.options) == [(spec.label_of(c), c) for c in spec.choices], spec.name
        elif spec.kind == "id":
            values = [v for _, v in w.options]
            expected = set(getattr(CAT, spec.ids).id) | ({""} if spec.none_choice else set())
            expected |= {v for v, _ in spec.extra_ids}
            assert set(values) == expected and len(values) == len(expected), spec.name
            assert (w.options[0][0] == spec.none_choice) == bool(spec.none_choice), spec.name
        elif isinstance(w, W.FloatLogSlider):
            assert spec.bounds is not None and spec.scale == "log"
            assert (w.min, w.max) == (math.log10(spec.bounds[0]), math.log10(spec.bounds[1]))
            assert w.step == spec.slider_step, spec.name
        elif isinstance(w, W.FloatSlider):
            assert (w.min, w.max, w.step) == (*spec.bounds, spec.slider_step), spec.name
        else:
            assert isinstance(w, W.Text) and (spec.default is None or spec.kind == "text"), spec.name
        assert (spec.name in controls.readouts) == (spec.readout is not None), spec.name
        if spec.readout is not None:
            assert controls.readouts[spec.name].value == spec.readout(getattr(CHANGED, spec.name))
        assert (spec.name in controls.typed) == bool(spec.typed), spec.name


def test_declared_presentation_is_what_the_page_shows(controls: ScenarioControls) -> None:
    """The declarations are used, not only present: labels, steps and readouts as the page had them."""
    assert FIELD_SPECS["deployment"].label_of("bare-metal") == "Bare metal"
    assert FIELD_SPECS["model_changes_per_year"].slider_step == 1.0
    assert FIELD_SPECS["utilization"].slider_step == 0.05 and FIELD_SPECS["horizon_years"].slider_step == 0.1
    assert controls.readouts["model_changes_per_year"].value == "weekly (52 per year)"
    assert controls.readouts["requests_per_day"].value == "<b>100</b> requests/day"
    assert controls.readouts["edge_sites"].value == f"{fmt.count(1)} sites"
    assert controls.typed["requests_per_day"].placeholder.startswith("or type: 50M")


def test_every_field_is_a_cli_flag_a_link_key_and_a_json_key() -> None:
    argv = ["evaluate"]
    for key, text in parse_qsl(CHANGED.to_query(), keep_blank_values=True):
        argv += [FIELD_SPECS[key].flag, text]
    assert len(argv) == 1 + 2 * len(SPECS)
    assert scenario_from_args(build_parser().parse_args(argv)) == CHANGED
    assert Scenario.from_query(CHANGED.to_query()) == CHANGED
    assert Scenario.from_json(CHANGED.to_json()) == CHANGED


def test_id_fields_name_the_catalog_table_their_ids_come_from() -> None:
    ids = known_ids(CAT)
    assert set(ids) == {s.name for s in SPECS if s.kind == "id"}
    assert all(ids[name] for name in ids)


# -- no branch on a field's name ------------------------------------------------------------------------

#: The modules that build from the declaration: they read a field's FieldSpec, never its name.
GENERATED = (
    *("controls.py", "cli.py", "cli_args.py", "cli_commands.py", "share.py", "scenario.py"),
    *("scenario_fields.py", "scenario_parse.py"),
    *("widgets.py", "live.py", "app.py"),
)


def name_branches(source: str, where: str) -> list[str]:
    """Comparisons with a field's name (``name == "deployment"``, ``name in ("a", "b")``), and dicts keyed
    by field names (a table chosen by name), in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        consts: list[object] = []
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                elts = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                consts += [e.value for e in elts if isinstance(e, ast.Constant)]
        elif isinstance(node, ast.Dict) and where == "controls.py":
            consts += [k.value for k in node.keys if isinstance(k, ast.Constant)]
        hits = sorted({c for c in consts if isinstance(c, str) and c in FIELD_SPECS})
        if hits:
            found.append(f"explorer/{where}:{node.lineno}: {', '.join(hits)}")
    return found


def test_no_generated_module_branches_on_a_field_name() -> None:
    found = [hit for name in GENERATED for hit in name_branches((REPO / "explorer" / name).read_text(), name)]
    assert not found, "declare it on the field's FieldSpec instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'if spec.name == "deployment":\n    pass\n',
        'ok = name not in ("requests_per_day", "edge_sites")\n',
        'table = {"workload": 1, "region": 2}[spec.name]\n',
    ],
)
def test_the_branch_check_finds_a_branch(source: str) -> None:
    assert name_branches(source, "controls.py")


# -- one list of frameworks and deployments, one volume range ---------------------------------------------


def test_frameworks_and_deployments_are_declared_once_in_the_catalog_layer() -> None:
    import explorer.scenario as scenario

    assert scenario.FRAMEWORKS is schema.FRAMEWORKS and scenario.DEPLOYMENTS is schema.DEPLOYMENTS
    assert tuple(f.name for f in fields(FrameworkMix)) == schema.FRAMEWORKS
    assert set(scenario.FRAMEWORK_LABELS) == set(schema.FRAMEWORKS)
    assert FIELD_SPECS["framework_mix"].choices == schema.FRAMEWORKS
    assert FIELD_SPECS["deployment"].choices == schema.DEPLOYMENTS
    assert {c for c, _ in FIELD_SPECS["deployment"].choice_labels} == set(schema.DEPLOYMENTS)
    # the catalog's files key each deployment's table as DEPLOYMENT_KEYS says, and are loaded that way
    assert list(schema.DEPLOYMENT_KEYS) == list(schema.DEPLOYMENTS)
    assert all(f"{key}_available" in CAT.devices.columns for key in schema.DEPLOYMENT_KEYS.values())
    # the tuples are typed in one place only
    typed = [
        str(p.relative_to(REPO))
        for p in (REPO / "explorer").rglob("*.py")
        if '"tensorflow", "pytorch"' in p.read_text() or '"cloud", "bare' in p.read_text()
    ]
    assert typed == ["explorer/catalog/validator.py"]  # re-exported by explorer.catalog.schema


def test_the_volume_grids_span_the_fields_bounds() -> None:
    lo, hi = FIELD_SPECS["requests_per_day"].bounds
    assert (calc.VOLUME_GRID[0], calc.VOLUME_GRID[-1]) == pytest.approx((lo, hi), rel=1e-12)
    volumes, changes = calc.breakeven_grid(7)
    assert (len(volumes), len(changes)) == (7, 7)
    assert (volumes[0], volumes[-1]) == pytest.approx((lo, hi), rel=1e-12)
    assert (changes[0], changes[-1]) == FIELD_SPECS["model_changes_per_year"].bounds
    assert fmt.requests_per_day(hi) == "500 B requests/day"


def test_no_module_types_the_volume_range_again() -> None:
    hi = FIELD_SPECS["requests_per_day"].bounds[1]
    typed = [
        f"{p.relative_to(REPO)}:{node.lineno}"
        for p in (REPO / "explorer").rglob("*.py")
        if p.name != "scenario.py"
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool) and node.value == hi
    ]
    assert not typed, f"read it from FIELD_SPECS['requests_per_day'].bounds or calc.volume_grid: {typed}"
