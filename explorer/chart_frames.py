"""Chart data: evaluation results -> the long-form frames the charts read, by dataset name.

The seam between the model and the chart builders (``explorer.charts``): no chart library here. A view
that shows a chart replaces a dataset's rows in place when only the data changed, so the dataset names
(``explorer.charts.CHARTS``, each chart's ``datasets``) are the contract between these frames and the
builders.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import fmt
from .calc import EvaluationResult, per_catalog
from .catalog import Catalog
from .scenario import FRAMEWORK_LABELS, FRAMEWORKS

KIND_LABEL = {"gpu": "GPU", "accelerator": "accelerator"}
#: A throughput's basis (``Option.throughput_basis``) as the charts' shape legend says it.
HOW = {"measured": "measured", "scaled": "measured, scaled", "estimated": "estimated"}
BOUNDARIES = {
    "device": ("device_power_kw", "device (rated board or chip power x load)"),
    "wall": ("wall_power_kw", "server wall (device plus its share of the host)"),
    "provisioned": ("provisioned_power_kw", "provisioned (rated server wall power, for racks and circuits)"),
    "facility": ("facility_power_kw", "facility (server wall x PUE)"),
}


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows (NaN -> None, numpy scalars -> Python) for a Vega dataset.

    Column-wise (``tolist`` per column, then zip): it runs on every slider move, and the per-cell pandas
    path (``where`` + ``to_dict``) cost ten times more.
    """
    if df.empty:
        return []
    columns = []
    for name in df.columns:
        col = df[name]
        values = col.tolist()
        if col.dtype.kind == "f":  # float columns: find NaN in one vectorised pass
            for i in np.flatnonzero(np.isnan(col.to_numpy())):
                values[i] = None
        elif col.dtype.kind == "O" or str(col.dtype) in ("str", "string"):
            values = [None if (isinstance(v, float) and v != v) or v is pd.NaT else v for v in values]
        columns.append(values)
    keys = list(df.columns)
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]


# -- data ----------------------------------------------------------------------------------------------

#: Frames built lately, by their content (``_same_frame``): at most this many are kept.
_RECENT_FRAMES = 32
_recent: dict[tuple[Any, ...], pd.DataFrame] = {}


def _same_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """A frame of `columns` (names to lists of plain values), the very frame built last time for the same
    content: most datasets stay as they were on a request-volume move (the devices' efficiency, the
    crossover), and a view skips an unchanged frame by identity (``explorer.live``) without converting its
    rows again. Frames are read-only, as every frame ``chart_data`` returns is."""
    key = tuple(
        (name, tuple(values), type(values[0]) if len(values) else None) for name, values in columns.items()
    )
    frame = _recent.pop(key, None)
    if frame is None:
        frame = pd.DataFrame(columns)
        while len(_recent) >= _RECENT_FRAMES:
            _recent.pop(next(iter(_recent)))
    _recent[key] = frame  # the latest last, so the oldest go first
    return frame


@per_catalog(maxsize=64)
def _support_frame(cat: Catalog, mix: tuple[tuple[str, float], ...]) -> pd.DataFrame:
    """The device x framework heatmap's rows; they change only with the framework mix, so are cached."""
    shares = dict(mix)
    fw = cat.frameworks
    return pd.DataFrame(
        {
            "device": fw.device_id.map(dict(zip(cat.devices.id, cat.devices.name, strict=True))),
            "framework": [f"{FRAMEWORK_LABELS[f]} ({shares[f]:.0%})" for f in fw.framework],
            "framework_order": [FRAMEWORKS.index(f) for f in fw.framework],
            "support": fw.support,
            "via": fw.via.fillna(""),
            "source": fw.source_title + " (retrieved " + fw.retrieved.astype(str) + ")",
        }
    )


def chart_data(
    result: EvaluationResult, cat: Catalog, boundary: str = "facility", bands: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Every chart's datasets for one evaluation, by dataset name.

    ``bands`` (``explorer.uncertainty.monte_carlo(...).options``) adds each option's P10-P90 range.
    It runs on every slider move, so the frames are built from columns of plain lists (the ranked
    options are a few dozen rows; pandas filtering and mapping per frame cost several times more).
    """
    opts = result.options  # ranked: available by total cost, then unavailable
    s = result.scenario
    names = {o.device_id: o.name for o in opts}

    # cumulative cost: the best GPU and the best accelerator (and the recommended option if different)
    shown = [d for d in (result.best_gpu, result.best_accelerator) if d]
    if result.recommendation and result.recommendation.device_id not in shown:
        shown.append(result.recommendation.device_id)
    tl = result.timeline
    ids = tl.device_id.to_numpy()
    keep = np.isin(ids, shown)
    ids = ids[keep]
    timeline = pd.DataFrame(
        {
            "month": tl.month.to_numpy()[keep],
            "device_id": ids,
            "name": [names[d] for d in ids],
            "kind_label": [KIND_LABEL[k] for k in tl.kind.to_numpy()[keep]],
            "cumulative_usd": tl.cumulative_usd.to_numpy()[keep],
        }
    )
    be = result.break_even_month
    marked: dict[str, list[Any]] = {"month": [], "cumulative_usd": [], "label": []}
    if be is not None and result.best_accelerator:
        at = (timeline.device_id == result.best_accelerator).to_numpy() & (timeline.month == be).to_numpy()
        if at.any():
            marked = {
                "month": [be],
                "cumulative_usd": [float(timeline.cumulative_usd.to_numpy()[at][0])],
                "label": [f"break-even: {fmt.break_even(be)}"],
            }
    breakeven = _same_frame(marked)

    nan = float("nan")
    p10, p90 = _per_million_bands([o.device_id for o in opts], s, bands)
    kind_label = [KIND_LABEL[o.kind] if o.available else "unavailable" for o in opts]
    how = [HOW[o.throughput_basis] for o in opts]
    note = ["" if o.available else f"unavailable: {o.unavailable_reason}" for o in opts]
    options = pd.DataFrame(
        {
            "rank": range(1, len(opts) + 1),
            "p10_per_million_usd": p10,
            "p90_per_million_usd": p90,
            "device": [o.name for o in opts],
            "device_id": [o.device_id for o in opts],
            "kind": kind_label,
            "cost_per_million_usd": [_or(o.cost_per_million_requests_usd, 0.0) for o in opts],
            "tco_usd": [_or(o.tco_usd, nan) for o in opts],
            "devices_needed": [_or(o.devices_needed, nan) for o in opts],
            "status": [n or "available" for n in note],
            "throughput": [
                f"{h} "
                + (
                    fmt.requests_per_s(o.throughput_per_device_rps)
                    if o.throughput_per_device_rps is not None
                    else "–"
                )
                + (f" in {o.serving_format}" if o.serving_format else "")  # an LLM's format as served
                for h, o in zip(how, opts, strict=True)
            ],
            "throughput_source": [o.throughput_source for o in opts],
            "price_source": [o.price_source for o in opts],
            # the greyed label beside an unavailable device (empty otherwise): one shared dataset for both
            # layers keeps the ranked sort (a filtered layer would make Vega-Lite drop it)
            "note": note,
        }
    )

    curve = result.volume_curve  # shared between evaluations (read-only): a push can skip it by identity
    cross = result.crossover_requests_per_day
    crossover = _same_frame(
        {
            "requests_per_day": [cross] if cross is not None else [],
            "label": [f"crossover: {fmt.volume(cross)}/day"] if cross is not None else [],
        }
    )
    current = pd.DataFrame({"requests_per_day": [s.requests_per_day], "label": ["you are here"]})

    # in catalog order, not ranked: the points do not move with the ranking, so a volume change that only
    # reorders the ranking leaves this dataset (and its chart) as it was
    eff = sorted(
        (
            (o, h)
            for o, h in zip(opts, how, strict=True)
            if o.throughput_per_device_rps is not None and o.power_w is not None
        ),
        key=lambda oh: oh[0].device_id,
    )
    efficiency = _same_frame(
        {
            "device": [o.name for o, _ in eff],
            "kind": [KIND_LABEL[o.kind] for o, _ in eff],
            "available": ["available here" if o.available else "not available here" for o, _ in eff],
            "throughput_rps": [o.throughput_per_device_rps for o, _ in eff],
            "requests_per_joule": [o.throughput_per_device_rps / o.power_w for o, _ in eff],
            "how": [h for _, h in eff],
            "throughput_source": [o.throughput_source for o, _ in eff],
            "power_source": [o.power_source for o, _ in eff],
        }
    )

    support = _support_frame(cat, tuple(sorted(s.framework_mix.as_dict().items())))
    col, label = BOUNDARIES[boundary]
    pw = [o for o in opts if o.available and getattr(o, col) is not None]
    power = pd.DataFrame(
        {
            "device": [o.name for o in pw],
            "kind": [KIND_LABEL[o.kind] for o in pw],
            "power_kw": [getattr(o, col) for o in pw],
            "devices_needed": [o.devices_needed for o in pw],
            "boundary": label,
            "power_source": [o.power_source for o in pw],
        }
    )
    return {
        "timeline": timeline,
        "breakeven": breakeven,
        "options": options,
        "curve": curve,
        "crossover": crossover,
        "current": current,
        "efficiency": efficiency,
        "support": support,
        "power": power,
    }


#: The datasets that ``chart_data``'s ``bands`` change; every other dataset is the same without them.
BANDED = ("options",)


def _per_million_bands(device_ids: list[str], s: Any, bands: pd.DataFrame | None) -> tuple[list, list]:
    """Each device's P10 and P90 cost per million requests (NaN where the band has none)."""
    nan = float("nan")
    if bands is None or bands.empty:
        return [nan] * len(device_ids), [nan] * len(device_ids)
    total_requests = s.requests_per_day * 365.25 * s.horizon_years
    lo = dict(zip(bands.device_id, bands.p10_usd, strict=True))
    hi = dict(zip(bands.device_id, bands.p90_usd, strict=True))
    return (
        [lo.get(d, nan) / total_requests * 1e6 for d in device_ids],
        [hi.get(d, nan) / total_requests * 1e6 for d in device_ids],
    )


def with_bands(
    data: dict[str, pd.DataFrame], result: EvaluationResult, bands: pd.DataFrame | None
) -> dict[str, pd.DataFrame]:
    """``chart_data(result, cat, boundary, bands)`` from ``data = chart_data(result, cat, boundary)``: the
    datasets of ``BANDED`` anew, with the band; the others the same frames. A slider move shows the charts
    that do not draw the band while the band is still being computed (``explorer.widgets``)."""
    options = data["options"]
    p10, p90 = _per_million_bands(options["device_id"].tolist(), result.scenario, bands)
    return {**data, "options": options.assign(p10_per_million_usd=p10, p90_per_million_usd=p90)}


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def tornado_data(td: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The tornado's datasets from ``explorer.uncertainty.tornado`` output."""
    data = pd.DataFrame(
        {
            "input": td.input,
            "lo": td[["total_at_low_usd", "total_at_high_usd"]].min(axis=1),
            "hi": td[["total_at_low_usd", "total_at_high_usd"]].max(axis=1),
            "total_at_low_usd": td.total_at_low_usd,
            "total_at_high_usd": td.total_at_high_usd,
            "low": td["low"],
            "high": td["high"],
            "order": range(len(td)),
            "effect": ["can flip the recommendation" if f else "moves the total" for f in td.flips],
            "device_id": td.attrs.get("device_id", ""),
        }
    )
    return {
        "tornado": data,
        "tornado_nominal": pd.DataFrame({"nominal": [float(td.attrs.get("nominal_usd", 0))]}),
    }


def uncertainty_data(scenario: Any, cat: Catalog) -> dict[str, pd.DataFrame]:
    """The tornado's and the 50 x 50 break-even map's datasets for a scenario (about 15 ms together)."""
    return {**tornado_frames(scenario, cat), **breakeven_map_frames(scenario, cat)}


def tornado_frames(scenario: Any, cat: Catalog) -> dict[str, pd.DataFrame]:
    """The tornado's datasets: each uncertain input moved alone (``explorer.uncertainty.tornado``)."""
    from .uncertainty import tornado

    return tornado_data(tornado(scenario, cat))


def breakeven_map_frames(scenario: Any, cat: Catalog) -> dict[str, pd.DataFrame]:
    """The break-even map's dataset: the winner over a 50 x 50 grid of volume x model changes."""
    from .calc import breakeven_grid, breakeven_map

    return {"breakeven_map": breakeven_map(scenario, *breakeven_grid(50), cat)}
