"""Reading scenario values from text: one field's text (`parse_text`), typed volumes (`parse_volume`), the
check every value passes (`check_value`), and shared links read leniently (`from_query_lenient`).

``explorer.scenario`` declares the fields and imports this module; the functions that need the declared
fields read them from there when called.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .scenario_fields import (
    UNPRINTABLE,
    VOLUME_EXAMPLES,
    FieldSpec,
    FrameworkMix,
    ScenarioError,
    float_text,
    shown_value,
    visible,
)

if TYPE_CHECKING:
    from .scenario import Scenario


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return float_text(value)  # a link's 2000000000, not 2000000000.0
    return str(value)


def parse_text(spec: FieldSpec, text: str) -> Any:
    """Parse one field from text (a CLI flag or a URL query value)."""
    text = str(text).strip()
    if spec.kind == "mix":
        return FrameworkMix.parse(text, spec.name)
    if spec.kind in ("choice", "id", "text"):
        return text
    if text == "" and spec.default is None:
        return None
    if spec.human_count:
        return parse_volume(text, spec.name, check_bounds=False)
    if len(text) > _MAX_NUMBER_TEXT:
        raise ScenarioError(spec.name, text, spec.describe_allowed())
    try:
        return float(text.replace("_", ""))
    except ValueError:
        raise ScenarioError(spec.name, text, spec.describe_allowed()) from None


_MAX_NUMBER_TEXT = 64
_VOLUME_MULTIPLIERS = {
    "": 1.0,
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "mio": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "g": 1e9,
    "billion": 1e9,
    "t": 1e12,
    "tn": 1e12,
    "trillion": 1e12,
}
_VOLUME = re.compile(
    r"(?P<number>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:e[+-]?\d+)?|[+-]?\.\d+(?:e[+-]?\d+)?)"
    r"(?: ?(?P<suffix>thousand|million|billion|trillion|mio|mn|bn|tn|[kmbgt])(?![a-z]))?"
    r"(?: ?requests?)?(?: ?(?:/ ?day|per day|a day))?",
    re.IGNORECASE,
)


def parse_volume(text: str | float, field_name: str = "requests_per_day", check_bounds: bool = True) -> float:
    """A count as people write it: ``"50M"``, ``"50 M"``, ``"2.5 B"``, ``"1e9"``, ``"200k"``, ``"1,000,000"``.

    The one parser for typed request volumes: the CLI's ``--requests-per-day`` and ``--edge-sites``,
    scenario files, links and the app's typed field all use it. Accepted, case-insensitively:

    - a plain number: ``100000000``, ``1e8``, ``2.5e9``, ``1_000_000``, ``1,000,000`` (commas only as
      thousands separators: ``2,5 M`` is refused, since a decimal comma is ambiguous);
    - a number and a multiplier, with or without a space: ``k``/``thousand`` (10^3),
      ``M``/``mn``/``million`` (10^6; a lower-case ``m`` means million here, never milli),
      ``B``/``bn``/``G``/``billion`` (10^9), ``T``/``trillion`` (10^12), as `explorer.fmt.volume`
      writes them (``50 M``, ``2.5 B``);
    - optionally followed by ``requests/day``, ``/day`` or ``per day``.

    Returns the number as a float. Raises `ScenarioError` naming `field_name`, the text and what is
    allowed, with examples; with `check_bounds` (the default) a value outside the field's bounds is
    refused too.
    """
    from .scenario import FIELD_SPECS  # the declaration imports this module: read it when called

    spec = FIELD_SPECS.get(field_name)
    allowed = (
        spec.describe_allowed()
        if spec is not None and spec.bounds is not None
        else f"allowed: a number, written like {VOLUME_EXAMPLES}"
    )
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = str(text)
        if len(raw) > _MAX_NUMBER_TEXT:
            raise ScenarioError(field_name, raw, allowed)
        clean = re.sub(r"(?<=\d)_(?=\d)", "", re.sub(r"\s+", " ", raw).strip())  # 1_000_000
        m = _VOLUME.fullmatch(clean)
        if m is None:
            try:  # nan, inf, infinity: say why they are refused
                finite = math.isfinite(float(clean))
            except ValueError:
                finite = True
            if not finite:
                raise ScenarioError(field_name, raw, "not a finite number; " + allowed)
            if re.search(r"\d,\d{1,2}(?!\d)", clean):
                allowed = "a decimal comma is not read (write 2.5 M, not 2,5 M); " + allowed
            raise ScenarioError(field_name, raw, allowed)
        number = m.group("number").replace(",", "")
        value = float(number) * _VOLUME_MULTIPLIERS[(m.group("suffix") or "").lower()]
    if not math.isfinite(value):
        raise ScenarioError(field_name, text, "not a finite number; " + allowed)
    if check_bounds and spec is not None and spec.bounds is not None:
        lo, hi = spec.bounds
        if not lo <= value <= hi:
            raise ScenarioError(field_name, text, allowed)
    return value


#: An id of each catalog table a field names, for messages.
ID_EXAMPLES = {"workloads": "llama-3.1-8b", "devices": "nvidia-h100-sxm", "regions": "us-average"}


def check_value(spec: FieldSpec, value: Any) -> Any:
    if spec.kind == "text":
        if not isinstance(value, str) or not visible(value) or UNPRINTABLE.search(value):
            raise ScenarioError(spec.name, value, spec.describe_allowed())
        value = value.strip()
        if len(value) > spec.max_length:
            raise ScenarioError(spec.name, value, spec.describe_allowed())
        return value
    if spec.kind == "mix":
        return FrameworkMix.of(value, spec.name) if not isinstance(value, FrameworkMix) else value
    if spec.kind == "choice":
        if value not in spec.choices:
            raise ScenarioError(spec.name, value, spec.describe_allowed())
        return value
    if spec.kind == "id":
        if spec.default is None and value in (None, ""):  # an optional id (current_device): none
            return None
        if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", value):
            lower = value.strip().lower() if isinstance(value, str) else ""
            hint = f"did you mean {lower}? " if re.fullmatch(r"[a-z0-9][a-z0-9.-]*", lower) else ""
            raise ScenarioError(
                spec.name,
                value,
                f"{hint}allowed: a catalog id, in lower case with dashes, like "
                f"{ID_EXAMPLES.get(spec.ids or '', 'nvidia-h100-sxm')} (accel-explorer catalog "
                f"{spec.ids or 'devices'} lists them)",
            )
        return value
    if value is None and spec.default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            return check_value(spec, parse_text(spec, value))
        raise ScenarioError(spec.name, value, spec.describe_allowed())
    try:
        value = float(value)
    except OverflowError:  # an int beyond a float's range (about 1e308)
        raise ScenarioError(spec.name, value, "too large; " + spec.describe_allowed()) from None
    if not math.isfinite(value):
        raise ScenarioError(spec.name, value, "not a finite number; " + spec.describe_allowed())
    assert spec.bounds is not None
    lo, hi = spec.bounds
    if not lo <= value <= hi or (spec.whole and not value.is_integer()):
        raise ScenarioError(spec.name, value, spec.describe_allowed())
    return value


def known_ids(cat: Any) -> dict[str, set[str]]:
    """The ids a catalog knows for each id field, from the table its FieldSpec names (``ids``), with the
    field's declared `extra_ids` ("custom": your model)."""
    from .scenario import SPECS

    return {
        spec.name: set(getattr(cat, spec.ids).id) | {v for v, _ in spec.extra_ids}
        for spec in SPECS
        if spec.ids
    }


def from_query_lenient(
    query: str, known_ids: Mapping[str, set[str]] | None = None
) -> tuple[Scenario, list[str]]:
    """A scenario from a shared link, keeping every valid field.

    A bad or unknown value takes that field's default and adds a note saying which value was ignored and
    why; the notes are meant to be shown to the person who opened the link. ``known_ids`` lists the ids
    the catalog knows for id fields (``{"workload": {...}, "region": {...}}``).
    """
    from .scenario import FIELD_SPECS, Scenario

    notes: list[str] = []
    data: dict[str, Any] = {}
    for key, text in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        if key not in FIELD_SPECS:
            shown = shown_value(f"{key}={text}")
            notes.append(f"'{shown}' was ignored: '{shown_value(key)}' is not a setting of the explorer")
            continue
        spec = FIELD_SPECS[key]
        default = spec.default if spec.kind != "mix" else FrameworkMix.of(spec.default)
        shown_default = (
            ("none" if spec.kind == "id" else "from the catalog")
            if default is None
            else (default.label() if isinstance(default, FrameworkMix) else spec.show(default))
        )
        try:
            value = check_value(spec, parse_text(spec, text))
            ids = (known_ids or {}).get(key)
            if ids is not None and value is not None and value not in ids:
                raise ScenarioError(key, value, "allowed: " + ", ".join(sorted(ids)))
        except ScenarioError as err:
            notes.append(f"{err}; the default ({shown_default}) is used instead")
            continue
        except (ValueError, TypeError, OverflowError):  # never drop the link's other settings
            notes.append(
                f"{key}: {shown_value(text)} could not be read; the default ({shown_default}) is used instead"
            )
            continue
        data[key] = value
    while True:  # a value allowed alone but not with the others (active above total parameters)
        try:
            scenario = Scenario(**data)
            break
        except ScenarioError as err:
            spec = FIELD_SPECS.get(err.field)
            # drop the value at fault; a required value that is missing: what makes it apply
            shown_by = [k for k, _ in spec.visible_when if k in data] if spec is not None else []
            key = err.field if err.field in data else (shown_by or [None])[0]
            if key is None:  # nothing of the link's to drop: its defaults
                notes.append(f"{err}; the defaults are used instead")
                data = {}
                continue
            notes.append(f"{err}; the default is used instead for {key}")
            del data[key]
    if len(notes) > _MAX_NOTES:
        notes = [*notes[:_MAX_NOTES], f"... and {len(notes) - _MAX_NOTES:,} more values were ignored"]
    return scenario, notes


_MAX_NOTES = 20
