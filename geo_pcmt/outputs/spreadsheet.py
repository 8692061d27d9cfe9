"""CSV and XLSX files that open safely in Excel: formulas defused, nothing cut silently.

Every tabular output (CLI and web) is written here, so the safety rules live in one place:

- a text cell that begins like a spreadsheet formula (``= + - @``, tab or carriage return)
  cannot run as one: in CSV it is prefixed with an apostrophe, in XLSX it is a text cell;
- an XLSX cell holds at most 32,767 characters and Excel (and openpyxl) would cut longer
  text without a word, so such a file is refused (:class:`CellTooLong`) rather than written;
- one sheet holds at most 1,048,575 rows under its header (:class:`TooManyRows`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd

from geo_pcmt.access import MARKINGS
from geo_pcmt.outputs.table import CellTooLong, Table, TooManyRows

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header
XLSX_MAX_CELL_CHARS = 32_767


def defuse(value: Any) -> Any:
    """Text that would start a formula, prefixed with an apostrophe; other values as they are.

    Examples
    --------
    >>> defuse('=HYPERLINK("x")'), defuse("Mường Xén"), defuse(3)
    ('\\'=HYPERLINK("x")', 'Mường Xén', 3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def defused(flat: pd.DataFrame) -> pd.DataFrame:
    """``flat`` with every text column passed through :func:`defuse` (in place)."""
    for col in flat.columns:
        if flat[col].dtype == object or isinstance(flat[col].dtype, pd.StringDtype):
            flat[col] = flat[col].map(defuse)
    return flat


def check_xlsx_rows(table: Table, rows: int) -> None:
    """Raise :class:`TooManyRows` if ``rows`` do not fit in one sheet."""
    if rows > XLSX_MAX_ROWS:
        raise TooManyRows(f"{rows} rows do not fit in one Excel sheet ({XLSX_MAX_ROWS}); "
                          "use .csv or .gpkg, or filter")


def iter_csv(table: Table, frames: Iterable[pd.DataFrame]) -> Iterator[str]:
    """Yield a CSV file of every row of ``frames`` as text chunks (UTF-8 BOM first, so that
    Excel shows the diacritics); formulas defused; a header even when there are no rows."""
    first = True
    for frame in frames:
        if not len(frame):
            continue
        text = defused(table.flat(frame)).to_csv(index=False, header=first)
        yield ("\ufeff" + text) if first else text
        first = False
    if first:
        yield "\ufeff" + ",".join(table.flat_columns) + "\n"


def _xlsx_cells(ws, table: Table, header: list[str], row: tuple) -> list:
    """One sheet row: text as text cells (never a formula), missing values empty."""
    from openpyxl.cell import WriteOnlyCell
    cells = []
    for field, v in zip(header, row):
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
            cells.append(None)  # missing (NaN is the one float unequal to itself)
            continue
        v = v.item() if isinstance(v, np.generic) else v
        if isinstance(v, str) and len(v) > XLSX_MAX_CELL_CHARS:
            row_id = row[header.index("id")] if "id" in header else None
            raise CellTooLong(table.name, row_id, field, len(v), XLSX_MAX_CELL_CHARS)
        cell = WriteOnlyCell(ws, value=v)
        if isinstance(v, str):
            cell.data_type = "s"  # never a formula, whatever the text starts with
        cells.append(cell)
    return cells


def write_xlsx(table: Table, frames: Iterable[pd.DataFrame], path):
    """Write an Excel workbook of every row of ``frames`` (one sheet named after the table)
    to ``path`` (a file name or a binary file object); returns ``path``.

    Raises
    ------
    CellTooLong
        If a text cell (often a WKT geometry) is longer than an Excel cell holds.
    """
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    mark = MARKINGS[table.classification][0]
    restricted = table.classification != "public"
    # the mark on screen (sheet tab), in print (every page's header) and in the properties;
    # row 1 stays the column names, so tools still read the table
    ws = wb.create_sheet((f"{mark} {table.name}" if restricted else table.name)[:31])
    if restricted:
        ws.oddHeader.center.text = mark
        ws.oddFooter.center.text = mark
    wb.properties.category = mark
    wb.properties.keywords = f"classification={table.classification}"
    header = None
    try:
        for frame in frames:
            if not len(frame):
                continue
            flat = table.flat(frame)
            if header is None:
                header = list(flat.columns)
                ws.append(header)
            for row in flat.itertuples(index=False, name=None):
                ws.append(_xlsx_cells(ws, table, header, row))
    except BaseException:
        _discard(ws)
        raise
    if header is None:
        ws.append(table.flat_columns)
    wb.save(path)
    return Path(path) if isinstance(path, str) else path


def _discard(ws) -> None:
    """Finish a write-only sheet that will never be saved and delete its temporary file
    (openpyxl streams each such sheet to one, removed only by ``save``)."""
    try:
        ws.close()
    finally:
        writer = getattr(ws, "_writer", None)
        if writer is not None and isinstance(writer.out, str) and Path(writer.out).exists():
            writer.cleanup()
