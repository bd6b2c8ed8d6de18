"""The catalog's device table, declared once: one ``Column`` per displayed column.

Every view of the devices reads ``DEVICE_COLUMNS``: the terminal's table (``accel-explorer catalog
devices``, ``explorer.cli_tables``), the catalog browser (``explorer.views.devices_html``), the export
(``explorer.export.devices_csv``) and the app's quick look (``explorer.app.catalog_summary``). Adding a
column is one entry here: its label, the unit of its figure, how the figure is written (the rules of
``explorer.fmt``), and which field of the device's document carries its provenance.

Pure Python over the loaded catalog's frames (no widgets, no charts): the lowest layer that every reader
can import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import fmt
from .catalog import Catalog

#: Where a column is shown: the terminal's table, the catalog browser, the export.
VIEWS = ("terminal", "browser", "export")


def text(x: Any) -> str:
    """A text cell: "–" where the catalog has nothing."""
    return "–" if x is None or (isinstance(x, float) and x != x) else str(x)


def fixed(digits: int) -> Callable[[Any], str]:
    """A figure with thousands separators and `digits` decimals; "–" where it is not published."""

    def write(x: Any) -> str:
        return "–" if fmt.missing(x) else f"{x:,.{digits}f}"

    return write


def memory(x: Any) -> str:
    """Memory in GB: whole GB, or three decimals below 1 GB (an edge NPU's few MB of SRAM)."""
    return fixed(0 if not fmt.missing(x) and x >= 1 else 3)(x)


def watts(x: Any) -> str:
    return f"{fixed(0)(x)} W"


def yes(x: Any) -> str:
    return "yes" if not fmt.missing(x) and bool(x) else "–"


@dataclass(frozen=True)
class Column:
    """One column of the device table.

    ``label``: its header (the browser's and the export's); ``unit``: the unit of its figure, as the
    export's header gives it (a text column has none). ``fields``: the columns of ``Catalog.devices`` it
    shows; the first holds its figure (the export writes that one as a number). ``show`` writes a row's
    cell as text (default: ``write`` of the first field). ``detail``: small print after the figure (the
    power's basis and boundary), the same words in every view. ``source``: the field of the device's
    document whose source and date the cell carries (a name, or a function of the row where it depends
    on the device). ``short``: the terminal's header, where the browser's is too wide. ``views``: where
    it is shown (``VIEWS``).
    """

    label: str
    fields: tuple[str, ...]
    unit: str = ""
    write: Callable[[Any], str] = text
    show: Callable[[Any], str] | None = None
    detail: Callable[[Any], tuple[str, ...]] | None = None
    source: str | Callable[[Any], str] | None = None
    short: str = ""
    numeric: bool = False
    beside: bool = False  #: the browser writes the detail beside the figure, not under it
    views: tuple[str, ...] = VIEWS

    def cell(self, row: Any) -> str:
        """The cell's text (without its detail): ``row`` is one row of ``Catalog.devices`` (itertuples)."""
        return self.show(row) if self.show else self.write(getattr(row, self.fields[0]))

    def details(self, row: Any) -> tuple[str, ...]:
        return tuple(text(d) for d in self.detail(row) if text(d) not in ("", "–")) if self.detail else ()

    def source_field(self, row: Any) -> str | None:
        return self.source(row) if callable(self.source) else self.source

    def header(self, view: str) -> str:
        return self.short if view == "terminal" and self.short else self.label


def _deployable(row: Any) -> str:
    return ", ".join(
        name
        for name, ok in [
            ("cloud", row.cloud_available),
            ("bare metal", row.bare_metal_available),
            ("edge", row.edge_available),
        ]
        if ok
    )


#: The device table, left to right.
DEVICE_COLUMNS: tuple[Column, ...] = (
    Column("id", ("id",), views=("terminal", "export")),
    Column("device", ("name",), views=("browser", "export")),
    Column("vendor", ("vendor",), views=("browser", "export")),
    Column("kind", ("kind",)),
    Column("segment", ("segment",)),
    Column(
        "power",
        ("power_w", "power_basis", "power_boundary"),
        unit="W",
        write=watts,
        detail=lambda r: (r.power_basis, r.power_boundary),
        source="power",
    ),
    Column(
        "BF16/FP16 TFLOPS (dense)",
        ("peak_bf16_tflops", "peak_16bit_format"),
        unit="TFLOPS",
        write=fixed(1),
        detail=lambda r: (r.peak_16bit_format,),
        source=lambda r: f"peak_{r.peak_16bit_format}_dense",
        short="bf16/fp16 TFLOPS",
        numeric=True,
        beside=True,
    ),
    Column(
        "INT8 TOPS (dense)",
        ("peak_int8_tops",),
        unit="TOPS",
        write=fixed(0),
        source="peak_int8_dense",
        short="int8 TOPS",
        numeric=True,
    ),
    Column("memory GB", ("memory_gb",), unit="GB", write=memory, source="memory", numeric=True),
    Column(
        "memory GB/s",
        ("memory_bandwidth_gbps",),
        unit="GB/s",
        write=fixed(0),
        source="memory_bandwidth",
        short="mem BW GB/s",
        numeric=True,
    ),
    Column("cloud", ("cloud_available",), write=yes, views=("terminal", "export")),
    Column("bare metal", ("bare_metal_available",), write=yes, views=("terminal", "export")),
    Column("edge", ("edge_available",), write=yes, views=("terminal", "export")),
    Column(
        "deployable",
        ("cloud_available", "bare_metal_available", "edge_available"),
        show=_deployable,
        views=("browser",),
    ),
)


def columns_for(view: str) -> list[Column]:
    """The declared columns that `view` ("terminal", "browser" or "export") shows, in order."""
    return [c for c in DEVICE_COLUMNS if view in c.views]


def sorted_devices(cat: Catalog) -> pd.DataFrame:
    """The devices in the order every view lists them: segment, kind, vendor, id."""
    return cat.devices.sort_values(["segment", "kind", "vendor", "id"])


def device_table(cat: Catalog, view: str = "terminal") -> pd.DataFrame:
    """The device table as text cells, one column per declared column that `view` shows (the detail
    follows the figure, space-separated: "700 W rated board")."""
    d = sorted_devices(cat)
    rows = list(d.itertuples())
    return pd.DataFrame(
        {c.header(view): [" ".join((c.cell(r), *c.details(r))) for r in rows] for c in columns_for(view)}
    )


def summary_fields() -> list[str]:
    """Every field of ``Catalog.devices`` that a declared column shows, in the columns' order."""
    return list(dict.fromkeys(f for c in DEVICE_COLUMNS for f in c.fields))
