"""Numbers in human units: one module for money, counts, energy, power, CO2, request volumes and months.

Every view formats through here: the headline, the reasons (``explorer.calc``), the charts (the Vega
expressions at the end of this module, which follow the same rules in the browser), the report, the CLI
table and the notebooks. Pure Python, no pandas or numpy needed: ``explorer.calc`` imports it.

The rules, chosen for a finance reader:

* money is never in SI milli or giga: ``$0.036``, ``$7.52``, ``$412``, ``$41.2 k``, ``$4.1 M``, ``$1.2 B``
  (three significant digits from a thousand up, with k, M and B; whole dollars from $10; cents below;
  two significant digits below a dollar, so a non-zero amount never reads ``$0``);
* request volumes are k, M and B, never G or T: ``100``, ``2.5 k``, ``50 M``, ``500 B``;
* energy in kWh, MWh, GWh; power in W, kW, MW; CO2 in kg or t; all with three significant digits, and a
  non-zero figure never rounds to zero;
* months say what they mean: "from the start", "within the first month", "in month 14".

A missing figure (None or NaN) reads "–" everywhere.
"""

from __future__ import annotations

import math
from typing import Any

DASH = "–"

#: (threshold, divisor, suffix), largest first: a value is shown in the first unit whose threshold it
#: reaches *after rounding* (999,600 is "1 M", not "1,000 k"), the same in Python and in Vega.
_THOUSANDS = ((999.5e6, 1e9, " B"), (999.5e3, 1e6, " M"), (999.5, 1e3, " k"))


def missing(x: Any) -> bool:
    """None, NaN (Python, numpy or pandas) or a value that is not a number."""
    if x is None:
        return True
    try:
        v = float(x)
    except (TypeError, ValueError):
        return True
    return v != v


def _trim(text: str) -> str:
    """Drop insignificant trailing zeros after a decimal point ("4.10" -> "4.1", "2.00" -> "2")."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def sig(x: float, digits: int = 3, trim: bool = True) -> str:
    """`x` to `digits` significant digits in plain decimal notation with thousands separators (never an
    exponent: 1390, not 1.39e+03); like d3's ``,.3~r`` (``trim``) or ``,.3r``."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    rounded = float(f"{x:.{digits}g}")
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    text = f"{rounded:,.{decimals}f}"
    return _trim(text) if trim else text


def number(x: Any, digits: int = 3) -> str:
    """A plain quantity to `digits` significant digits: 1,390; 11.8; 0.0042."""
    return DASH if missing(x) else sig(float(x), digits)


def count(n: Any) -> str:
    """A whole count with thousands separators: 1,000."""
    return DASH if missing(n) else f"{round(float(n)):,}"


def plural(n: Any, one: str, many: str | None = None) -> str:
    """ "1 device", "327 devices" (the count with thousands separators)."""
    if missing(n):
        return f"{DASH} {many or one + 's'}"
    return f"{count(n)} {one if round(float(n)) == 1 else (many or one + 's')}"


# -- money ----------------------------------------------------------------------------------------------


def usd(x: Any, trim: bool = False) -> str:
    """Money for a finance reader: $0.036, $7.52, $412, $41.2 k, $4.1 M, $1.2 B.

    Never SI milli or giga, never "$0" for a non-zero amount. ``trim`` drops trailing zeros ($7.5 for an
    axis tick); a figure in a sentence or a table keeps its cents.
    """
    if missing(x):
        return DASH
    v = float(x)
    sign = "-" if v < 0 else ""
    a = abs(v)
    for threshold, div, suffix in _THOUSANDS:
        if a >= threshold:
            return f"{sign}${sig(a / div, 3)}{suffix}"
    if a == 0:
        return "$0"
    if a >= 9.995:
        return f"{sign}${a:,.0f}"
    text = f"{a:.2f}" if a >= 0.995 else sig(a, 2, trim=False)
    return f"{sign}${_trim(text) if trim else text}"


def usd_range(lo: Any, hi: Any) -> str:
    """A range of money, the unit said once where both ends share it: "$5.9-7.4 M", "$950 k-$1.2 M"."""
    if missing(lo) or missing(hi):
        return DASH
    a, b = usd(lo), usd(hi)
    ua, ub = a.rsplit(" ", 1), b.rsplit(" ", 1)
    if len(ua) == 2 and len(ub) == 2 and ua[1] == ub[1] and not a.startswith("-"):
        return f"{ua[0]}–{ub[0].lstrip('$')} {ua[1]}"
    return f"{a}–{b}"


def usd_per_million(x: Any) -> str:
    """Cost per million requests: "$60 per million requests", "$0.036 per million requests"."""
    return f"{usd(x)} per million requests"


# -- request volumes ------------------------------------------------------------------------------------


def volume(x: Any) -> str:
    """A request volume or count in k, M and B (never G or T): 100, 2.5 k, 50 M, 500 B; small rates keep
    two significant digits (2.3)."""
    if missing(x):
        return DASH
    v = float(x)
    a = abs(v)
    sign = "-" if v < 0 else ""
    for threshold, div, suffix in _THOUSANDS:
        if a >= threshold:
            return sign + _scaled_volume(a / div) + suffix
    if a == 0:
        return "0"
    if a >= 9.5:
        return f"{sign}{a:,.0f}"
    return sign + sig(a, 2)


def _scaled_volume(v: float) -> str:
    # 1 decimal below 10 (2.5 M), whole numbers from 10 (50 M, 167 k, 1,200 B)
    return _trim(f"{v:.1f}") if v < 9.95 else f"{v:,.0f}"


def requests_per_day(x: Any) -> str:
    """ "50 M requests/day"."""
    return f"{volume(x)} requests/day"


def requests_per_s(x: Any) -> str:
    """ "2.3 requests/s", "1,390 requests/s" (three significant digits)."""
    return f"{number(x)} requests/s"


# -- energy, power, CO2 ---------------------------------------------------------------------------------

ENERGY_KWH = ((1.0, "kWh"), (1e3, "MWh"), (1e6, "GWh"), (1e9, "TWh"))
POWER_KW = ((1e-3, "W"), (1.0, "kW"), (1e3, "MW"), (1e6, "GW"))
CO2_TONNES = ((1e-6, "g"), (1e-3, "kg"), (1.0, "t"))
MEMORY_GB = ((1e-3, "MB"), (1.0, "GB"), (1e3, "TB"))


def _unit_ladder(x: Any, ladder: tuple[tuple[float, str], ...], zero: str) -> str:
    """`x` in the largest unit of `ladder` ((size in the base unit, name), smallest first) it reaches
    after rounding to three significant digits; exactly zero reads "0 <zero>"."""
    if missing(x):
        return DASH
    v = float(x)
    if v == 0:
        return f"0 {zero}"
    a = abs(v)
    size, name = ladder[0]
    for s, n in ladder:
        if a >= s * 0.9995:
            size, name = s, n
    return f"{'-' if v < 0 else ''}{sig(a / size, 3)} {name}"


def energy_kwh(x: Any) -> str:
    """Energy given in kWh: "820 kWh", "41.2 MWh", "1.5 GWh"."""
    return _unit_ladder(x, ENERGY_KWH, "kWh")


def power_kw(x: Any) -> str:
    """Power given in kW: "72 W", "12.4 kW", "1.2 MW"."""
    return _unit_ladder(x, POWER_KW, "kW")


def power_w(x: Any) -> str:
    """Power given in W: "750 W", "10.2 kW"."""
    return DASH if missing(x) else power_kw(float(x) / 1e3)


def co2_tonnes(x: Any) -> str:
    """CO2 given in tonnes: "0.31 kg", "166 kg", "4.12 t", "1,230 t" (never "0 t" for a non-zero mass)."""
    return _unit_ladder(x, CO2_TONNES, "kg")


def memory_gb(x: Any) -> str:
    """Memory or weights given in GB (decimal): "6.4 MB", "25.6 MB", "141 GB", "1.5 TB"."""
    return _unit_ladder(x, MEMORY_GB, "GB")


# -- shares, odds, time ---------------------------------------------------------------------------------


def percent(p: Any) -> str:
    """A share: "13%" (a non-zero share that would round to 0 reads "<1%")."""
    if missing(p):
        return DASH
    v = float(p)
    if 0 < abs(v) < 0.005:
        return "<1%" if v > 0 else ">-1%"
    return f"{v:.0%}"


def odds(p: Any) -> str:
    """A probability: "<1%" and ">99%" at the ends, so that 99.8 % never reads as a certainty."""
    if missing(p):
        return DASH
    v = float(p)
    if 0 < v < 0.005:
        return "<1%"
    if 0.995 <= v < 1:
        return ">99%"
    return f"{v:.0%}"


def years(h: Any) -> str:
    """ "1 year", "3 years", "1.5 years"."""
    if missing(h):
        return DASH
    v = float(h)
    return f"{v:g} year{'' if v == 1 else 's'}"


#: How often a model changes, in words: (changes per year, word), for `changes_per_year`.
CHANGE_WORDS = ((0, "frozen"), (1, "yearly"), (4, "quarterly"), (12, "monthly"), (52, "weekly"))


def changes_per_year(n: float) -> str:
    """ "quarterly (4 per year)", "about monthly (10 per year)", "frozen: the model never changes"."""
    nearest = min(CHANGE_WORDS, key=lambda p: abs(math.log1p(p[0]) - math.log1p(n)))
    if n == 0:
        return "frozen: the model never changes"
    approx = "" if abs(nearest[0] - n) < 0.5 else "about "
    return f"{approx}{nearest[1]} ({n:g} per year)"


def break_even(month: int | None, horizon_years: float | None = None) -> str:
    """When the accelerator's cumulative cost goes below the GPU's and stays there, short: "from the
    start" (month 0: cheaper up front too), "within the first month", "month 14"; None: "none within
    3 years" (or "–" without a horizon)."""
    if month is None:
        return DASH if horizon_years is None else f"none within {years(horizon_years)}"
    if month <= 0:
        return "from the start"
    if month == 1:
        return "within the first month"
    return f"month {month}"


def payback(month: int | None, rival: str) -> str:
    """The reason's sentence for a break-even month against `rival` (None: it never pays back)."""
    if month is None:
        return f"Does not pay back against {rival} within the horizon."
    if month <= 0:
        return f"Cheaper than {rival} from the start: lower up-front cost too, so nothing to pay back."
    if month == 1:
        return f"Pays back within the first month against {rival}."
    return f"Pays back in month {month} against {rival}."


# -- the headline's figures (one list: the app's headline and the report show the same) -----------------

NOT_PUBLISHED = "not published"


def _or_unpublished(x: Any, how: Any) -> str:
    return NOT_PUBLISHED if missing(x) else how(x)


def why_none_serve(result: Any, top: int = 2) -> str:
    """Where no device can serve a scenario, the commonest reasons, in a sentence: "Spot capacity can be
    reclaimed … (17 of 35 devices); offered in the cloud, but … (10)." Reasons are grouped by what comes
    before their first colon ("not an edge device: exists only in …" is one reason for many devices)."""
    groups: dict[str, list[str]] = {}
    for o in result.options:
        if o.unavailable_reason:
            groups.setdefault(o.unavailable_reason.split(":", 1)[0], []).append(o.unavailable_reason)
    if not groups:
        return ""
    ranked = sorted(groups.values(), key=len, reverse=True)[:top]
    parts = [
        f"{reasons[0] if len(set(reasons)) == 1 else reasons[0].split(':', 1)[0]} "
        f"({len(reasons)}{f' of {len(result.options)} devices' if i == 0 else ''})"
        for i, reasons in enumerate(ranked)
    ]
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def headline_figures(result: Any, bands: Any = None) -> list[tuple[str, str]]:
    """(label, value) of every figure the headline shows for an evaluation (``explorer.calc``), with the
    Monte Carlo band and odds where ``bands`` (``explorer.uncertainty.monte_carlo``) is given.

    Empty when no device can serve the scenario.
    """
    rec = result.recommendation
    if rec is None:
        return []
    o = result.option(rec.device_id)
    s = result.scenario
    both = bool(result.best_gpu and result.best_accelerator)
    devices = count(o.devices_needed)
    low = getattr(o, "devices_min", None)
    if low is not None and low != o.devices_needed:  # a cloud fleet that follows the day
        devices = f"{devices} peak, {count(o.devices_average)} avg, {count(low)} min"
    if o.training_devices:
        trainer = result.option(o.training_device_id) if getattr(o, "training_device_id", None) else None
        devices += f" + {count(o.training_devices)} {trainer.name if trainer else 'devices'} training"
    if getattr(o, "servers", None) is not None:  # bare metal: whole servers, spares included, in racks
        racks = getattr(o, "racks", None)
        devices += f" in {plural(o.servers, 'server')}" + (f", {plural(racks, 'rack')}" if racks else "")
    figs = [
        ("devices", devices),
        (f"total, {years(s.horizon_years)}", usd(o.tco_usd)),
        ("per million requests", usd(o.cost_per_million_requests_usd)),
        *_baseline_figure(getattr(result, "baseline", None)),
        ("energy per year", _or_unpublished(o.energy_kwh_per_year, energy_kwh)),
        ("CO2 per year", _or_unpublished(o.co2_tonnes_per_year, co2_tonnes)),
        ("provisioned power", _or_unpublished(getattr(o, "provisioned_power_kw", None), power_kw)),
        # the best accelerator against the best GPU, whichever is recommended (the results CSV has each
        # option's own, against the best of the other kind)
        (
            "break-even, accelerator vs GPU",
            break_even(result.break_even_month, s.horizon_years)
            if both
            else f"no {'GPU' if result.best_accelerator else 'accelerator'} available",
        ),
    ]
    if bands is not None:
        row = band_row(bands, rec.device_id)
        if row is not None:
            figs.insert(2, ("P10-P90", usd_range(row["p10_usd"], row["p90_usd"])))
        if bands.probability_accelerator_cheaper is not None:
            figs.append(("odds accelerator cheaper", odds(bands.probability_accelerator_cheaper)))
    return figs


def band_row(bands: Any, device_id: str) -> dict[str, Any] | None:
    """The Monte Carlo band's row of one option (``explorer.uncertainty.monte_carlo``), None without one.
    Found in the column's list: a boolean filter of the frame cost the headline most of its time."""
    frame = bands.options
    ids = frame["device_id"].tolist()
    if device_id not in ids:
        return None
    i = ids.index(device_id)
    return {name: frame.iat[i, j] for j, name in enumerate(frame.columns)}


def band_note(result: Any, bands: Any = None) -> str:
    """Where the recommendation's total lies outside its own P10-P90 band, why, in a sentence ("" where it
    lies inside, or without a band). The total takes every input at the catalog's figure; a figure taken
    at one end of its range (a list price whose range runs down to volume pricing) is drawn on one side
    only (``explorer.uncertainty``: the ``outside_band`` column names those inputs)."""
    rec = getattr(result, "recommendation", None)
    if bands is None or rec is None or "outside_band" not in bands.options.columns:
        return ""
    row = band_row(bands, rec.device_id)
    why = str(row["outside_band"]) if row is not None else ""
    if not why:
        return ""
    side, _, inputs = why.partition(": ")
    other = "below" if side == "above" else "above"
    names = inputs.split(", ") if inputs else []
    listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    because = (
        f"the catalog takes {listed} at one end of {'their ranges' if len(names) > 1 else 'its range'}, so "
        f"the draws fall {other} {'them' if len(names) > 1 else 'it'}"
        if names
        else f"its inputs' ranges lie mostly {other} the catalog's figures"
    )
    return f"The total uses the catalog's figures and lies {side} its P10-P90 band: {because}."


BASELINE_LABEL = "saves vs your fleet"

#: The ranking's throughput marks (``Option.throughput_basis``'s first letter), in words.
BASIS_KEY = (
    "m = measured, s = a measurement the serving model scaled to this request's format, tokens or latency "
    "target, e = estimated"
)
#: The ranking's format column (``Option.serving_format``, ``short_format``), in words: LLMs only.
FORMAT_KEY = (
    "format: the number format an LLM is served in; weights/maths where the device computes at a wider "
    "peak than its weights' format (weight-only quantization)"
)


def _baseline_figure(b: Any) -> list[tuple[str, str]]:
    """What the recommendation saves against the fleet run now (``explorer.calc.Baseline``): "$2.1 M (42%)";
    "$0 (your fleet)" where the fleet run now is the recommendation; "not available" where it cannot serve
    the scenario (the reasons say why). Nothing without a baseline."""
    if b is None:
        return []
    if b.savings_usd is None:
        return [(BASELINE_LABEL, "not available")]
    if b.savings_usd <= 0:
        return [(BASELINE_LABEL, "$0 (your fleet)")]
    return [(BASELINE_LABEL, f"{usd(b.savings_usd)} ({percent(b.savings_share)})")]


def short_format(words: str) -> str:
    """A served format for a narrow column: "FP8 weights, INT8 maths" as "FP8/INT8" (weights/maths)."""
    if ", " not in words:
        return words or DASH
    weights, maths = (part.split(" ")[0] for part in words.split(", ", 1))
    return f"{weights}/{maths}"


def option_rows(result: Any, bands: Any = None, *, by: str = "name") -> list[dict[str, str]]:
    """The ranked options of an evaluation as rows of human text: the CLI table, the report's ranking
    and the notebooks' tables.

    ``by``: "name" (the device's name) or "id" (its catalog id, as the CLI shows it). With ``bands``
    (``uncertainty.monte_carlo``) a P10-P90 column is added. Power and energy are at the facility.
    """
    band: dict[str, tuple[float, float]] = {}
    if bands is not None:
        b = bands.options
        band = dict(zip(b.device_id, zip(b.p10_usd, b.p90_usd, strict=True), strict=True))
    rows = []
    llm = any(x.serving_format for x in result.options)  # an LLM: the format each figure is served in
    for rank, o in enumerate(result.options, 1):
        ok = o.available
        row = {
            "#": str(rank) if ok else "",
            "device": o.name if by == "name" else o.device_id,
            "kind": "GPU" if o.kind == "gpu" else "accelerator",
            "devices": count(o.devices_needed) if ok else DASH,
        }
        if getattr(result.scenario, "deployment", None) == "bare-metal":  # a plan one could order from
            row |= {
                "servers": count(getattr(o, "servers", None)) if ok else DASH,
                "racks": count(getattr(o, "racks", None)) if ok else DASH,
                "provisioned": _or_unpublished(o.provisioned_power_kw, power_kw) if ok else DASH,
            }
        if llm:
            row["format"] = short_format(o.serving_format) if ok else DASH
        row |= {
            "throughput": o.throughput_basis[0] + " " + number(o.throughput_per_device_rps),
            "total": usd(o.tco_usd),
        }
        if bands is not None:
            lo_hi = band.get(o.device_id)
            row["P10-P90"] = usd_range(*lo_hi) if lo_hi else DASH
        row |= {
            "per M requests": usd(o.cost_per_million_requests_usd),
            "porting": usd(o.porting_cost_usd),
            "power": power_kw(o.facility_power_kw) if ok else DASH,
            "energy/yr": energy_kwh(o.energy_kwh_per_year) if ok else DASH,
            "CO2/yr": co2_tonnes(o.co2_tonnes_per_year) if ok else DASH,
            "note": "" if ok else (o.unavailable_reason or ""),
        }
        rows.append(row)
    return rows


# -- Vega expressions: the same rules, run in the browser (axis labels, tooltips) ---------------------------


def _num_expr(value: str, spec: str) -> str:
    return f"format({value}, '{spec}')"


def vega_usd(value: str = "datum.value", trim: bool = False) -> str:
    """A Vega expression that formats `value` as ``usd`` does (``trim`` for axis ticks)."""
    a = f"abs({value})"
    t = "~" if trim else ""
    parts = [
        f"{a} >= {th:g} ? '$' + {_num_expr(f'{a} / {div:g}', ',.3~r')} + '{suf}'"
        for th, div, suf in _THOUSANDS
    ]
    parts.append(f"{a} == 0 ? '$0'")
    parts.append(f"{a} >= 9.995 ? '$' + {_num_expr(a, ',.0f')}")
    parts.append(f"{a} >= 0.995 ? '$' + {_num_expr(a, f'.2{t}f')}")
    body = " : ".join(parts) + f" : '$' + {_num_expr(a, f'.2{t}r')}"
    return f"(isValid({value}) ? ({value} < 0 ? '-' : '') + ({body}) : '{DASH}')"


def vega_volume(value: str = "datum.value") -> str:
    """A Vega expression that formats `value` as ``volume`` does (k, M, B; never G or T)."""
    a = f"abs({value})"
    parts = []
    for th, div, suf in _THOUSANDS:
        scaled = f"{a} / {div:g}"
        parts.append(
            f"{a} >= {th:g} ? ({scaled} < 9.95 ? {_num_expr(scaled, '.1~f')} : "
            f"{_num_expr(scaled, ',.0f')}) + '{suf}'"
        )
    parts.append(f"{a} == 0 ? '0'")
    parts.append(f"{a} >= 9.5 ? {_num_expr(a, ',.0f')}")
    body = " : ".join(parts) + f" : {_num_expr(a, '.2~r')}"
    return f"(isValid({value}) ? ({value} < 0 ? '-' : '') + ({body}) : '{DASH}')"


def _vega_ladder(value: str, ladder: tuple[tuple[float, str], ...], zero: str) -> str:
    """`zero`: the whole text for exactly zero."""
    a = f"abs({value})"
    parts = [
        f"{a} >= {size * 0.9995:g} ? {_num_expr(f'{a} / {size:g}', ',.3~r')} + ' {name}'"
        for size, name in reversed(ladder[1:])
    ]
    size, name = ladder[0]
    body = " : ".join(parts) + f" : {_num_expr(f'{a} / {size:g}', ',.3~r')} + ' {name}'"
    signed = f"({value} < 0 ? '-' : '') + ({body})"
    return f"(isValid({value}) ? ({value} == 0 ? '{zero}' : {signed}) : '{DASH}')"


def vega_power_kw(value: str = "datum.value", zero: str = "0 kW") -> str:
    """A Vega expression that formats a power in kW as ``power_kw`` does (W, kW, MW, GW); exactly zero
    reads `zero` (an axis's origin may say just "0")."""
    return _vega_ladder(value, POWER_KW, zero)


def vega_number(value: str = "datum.value", digits: int = 3) -> str:
    """A Vega expression for a plain quantity to `digits` significant digits, never an exponent."""
    return f"(isValid({value}) ? {_num_expr(value, f',.{digits}~r')} : '{DASH}')"
