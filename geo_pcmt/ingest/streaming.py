"""Load a large file in chunks: read, check and store chunk by chunk in one transaction.

For the CLI (``geo-pcmt load``), which has no upload limit: CSV is read with pandas'
``chunksize``, XLSX row by row with openpyxl's read-only mode, GeoPackage/FlatGeobuf/
Shapefile with pyogrio's ``skip_features``/``max_features``; other formats are read whole.
Each chunk is validated (:func:`~geo_pcmt.ingest.validation.validate`) with rows numbered
as in the whole file and ids checked for duplicates across chunks (the ids seen are kept
on disk, :class:`~geo_pcmt.ingest.id_ledger.IdLedger`), and its clean rows are added to one
store transaction (``Store.bulk_writer``; the GeoPackage store spools its R-tree entries
to disk too). With a GeoPackage store, memory holds one chunk and the problems found,
whatever the file's size (PostGIS keeps the clean chunks for one COPY at the end). The
report is the one a one-shot check of the whole file gives (tested); if the file is not
clean (and ``keep_valid`` is not given) the transaction is rolled back and nothing is
stored. The web keeps its upload limit and one-shot check.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
import pyogrio

from geo_pcmt.ingest import safety
from geo_pcmt.ingest.id_ledger import IdLedger
from geo_pcmt.ingest.reading import IngestError, MAX_XLSX_UNPACKED, check_zip, read_any
from geo_pcmt.ingest.report import ValidationReport
from geo_pcmt.ingest.validation import validate

CHUNK_ROWS = 100_000
_OGR_CHUNKED = (".gpkg", ".fgb", ".shp")
_XLSX_RATIO = 30  # a large .xlsx unpacks to ~5-10× its size; far more is a zip bomb


@dataclass
class StreamedReport(ValidationReport):
    """A :class:`ValidationReport` of a file checked in chunks: ``clean`` holds no rows
    (they went to the store chunk by chunk), ``valid`` counts them."""

    valid: int = 0

    @property
    def rows_valid(self) -> int:
        return self.valid


def estimate_rows(path: str | Path) -> int | None:
    """About how many records the file holds (for the progress bar), or None."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            with open(path, "rb") as fh:
                return max(0, sum(block.count(b"\n") for block in
                                  iter(lambda: fh.read(1 << 20), b"")) - 1)
        if suffix in (".xlsx", ".xlsm"):
            from openpyxl import load_workbook
            wb = load_workbook(path, read_only=True)
            try:
                return max(0, (wb.worksheets[0].max_row or 1) - 1)
            finally:
                wb.close()
        if suffix in _OGR_CHUNKED:
            return int(pyogrio.read_info(path)["features"])
    except Exception:  # only an estimate: the reading itself reports real problems
        return None
    return None


def read_chunks(path: str | Path, chunk_rows: int = CHUNK_ROWS, *,
                layer: str | None = None) -> Iterator[pd.DataFrame]:
    """The file's records in frames of at most ``chunk_rows``, as :func:`read_any` reads
    them (CSV/XLSX cells as text; spatial formats with geometry and CRS), without its size
    limit. Other formats (GeoJSON, KML, GPX) come whole, read for ``layer`` (a GPX file
    gives its tracks to a layer of lines). Raises :class:`IngestError` for a missing, unsafe
    or unreadable file."""
    path = Path(path)
    if not path.exists():
        raise IngestError(f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        safety.check_upload(path)
        yield from _guarded(path, lambda: pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", chunksize=chunk_rows))
    elif suffix in (".xlsx", ".xlsm"):
        safety.check_upload(path)
        _check_xlsx(path)
        yield from _guarded(path, lambda: _xlsx_chunks(path, chunk_rows))
    elif suffix in _OGR_CHUNKED:
        safety.check_upload(path)
        yield from _guarded(path, lambda: _ogr_chunks(path, chunk_rows))
    else:
        yield read_any(path, max_bytes=path.stat().st_size, layer=layer)


def _guarded(path: Path, make) -> Iterator[pd.DataFrame]:
    """The reader's chunks, its failures as :class:`IngestError`."""
    try:
        for chunk in make():
            yield chunk
    except IngestError:
        raise
    except Exception as exc:  # the reader's own message is what the user needs
        raise IngestError(f"cannot read {path.name}: {exc}") from None


def _check_xlsx(path: Path) -> None:
    """The zip-bomb check, with a limit that grows with the file (the CLI has no size limit)."""
    check_zip(path, max(MAX_XLSX_UNPACKED, _XLSX_RATIO * path.stat().st_size))


def _xlsx_cell(value) -> str:
    """A cell as pandas' ``read_excel(dtype=str)`` gives it: whole floats as integers,
    blanks as ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    from openpyxl import load_workbook
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = [_xlsx_cell(v) for v in next(rows, ())]
        while header and header[-1] == "":
            header.pop()
        width, batch = len(header), []
        for row in rows:
            cells = [_xlsx_cell(v) for v in row[:width]]
            if not any(cells):  # trailing blank rows, as pandas skips them
                continue
            batch.append(cells + [""] * (width - len(cells)))
            if len(batch) == chunk_rows:
                yield pd.DataFrame(batch, columns=header, dtype=str)
                batch = []
        if batch or not header:
            yield pd.DataFrame(batch, columns=header, dtype=str)
    finally:
        wb.close()


def _ogr_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    total = int(pyogrio.read_info(path)["features"])
    for start in range(0, max(total, 1), chunk_rows):
        yield pyogrio.read_dataframe(path, skip_features=start, max_features=chunk_rows)


class _NothingStored(Exception):
    """Raised inside the store's transaction to roll it back."""


def load_chunked(store, layer: str, path: str | Path, *, keep_valid: bool = False,
                 fix_swapped: bool = False, repair: bool = False, crs: str | None = None,
                 mode: str = "append", user: str = "system", source: str | None = None,
                 id_start: int = 1, chunk_rows: int = CHUNK_ROWS,
                 on_chunk: Callable[[int, int], None] | None = None):
    """Read, validate and store a file chunk by chunk in one transaction (see the module
    text); returns ``(report, write_report_or_None)`` as :func:`~geo_pcmt.ingest.load`.

    ``on_chunk(chunk_number, rows_done)`` is called after each chunk (progress bars).
    Raises :class:`IngestError` for an unreadable file (nothing stored) and
    ``StoreError`` from the store (nothing stored).
    """
    path = Path(path)
    report = StreamedReport(layer, 0, pd.DataFrame(), [], {})
    storing = True
    try:
        with IdLedger() as seen_ids, store.bulk_writer(layer, mode=mode, user=user) as writer:
            for k, frame in enumerate(read_chunks(path, chunk_rows, layer=layer), start=1):
                part = validate(frame, layer, fix_swapped=fix_swapped, repair=repair, crs=crs,
                                source=source or f"upload:{path.name}",
                                id_start=id_start + len(report.generated_ids),
                                seen_ids=seen_ids, row_offset=report.rows_total)
                _merge(report, part, first=k == 1)
                storing = storing and (part.ok or keep_valid)
                if storing and part.rows_valid:
                    writer.add(part.clean)
                if on_chunk is not None:
                    on_chunk(k, report.rows_total)
            if not storing or report.rows_valid == 0:
                raise _NothingStored
    except _NothingStored:
        return report, None
    return report, writer.report


def _merge(report: StreamedReport, part: ValidationReport, *, first: bool) -> None:
    """Add a chunk's report to the whole file's, its rows renumbered after the rows before
    it; problems of the whole file (no row) are kept from the first chunk only."""
    offset = report.rows_total
    if first:
        report.clean = part.clean.iloc[:0]
    report.problems.extend(dataclasses.replace(p, row=p.row + offset) if p.row is not None
                           else p for p in part.problems if p.row is not None or first)
    report.generated_ids.update({r + offset: i for r, i in part.generated_ids.items()})
    report.rows_total += part.rows_total
    report.valid += part.rows_valid
