"""Read officers' files (CSV, XLSX, GeoJSON, GPKG, KML) and validate them against a layer.

The flow, one module a step:

* :mod:`~geo_pcmt.ingest.reading` — ``read_any(path)`` reads a file as it is (size, format
  and zip-bomb guards);
* :mod:`~geo_pcmt.ingest.validation` — ``validate(frame, layer)`` checks every row
  (:mod:`~geo_pcmt.ingest.cells` types the cells, :mod:`~geo_pcmt.ingest.geometry` the
  geometries) and returns a :class:`ValidationReport` (:mod:`~geo_pcmt.ingest.report`)
  whose problems each name the row, field, value and reason;
* :mod:`~geo_pcmt.ingest.loading` — ``load(store, layer, path)`` stores the clean rows
  only when the whole file is clean (or when the user asks to keep the valid rows).

Rows are numbered from 1 = first record, which is the spreadsheet row number minus one
(the header). Addresses are read by :mod:`~geo_pcmt.ingest.gazetteer`, points joined to
communes by :mod:`~geo_pcmt.ingest.spatial`, and checks run in helper processes with
:mod:`~geo_pcmt.ingest.pool`.
"""
from __future__ import annotations

from geo_pcmt.ingest import boundaries
from geo_pcmt.ingest.cells import parse_date
from geo_pcmt.ingest.geometry import OUTSIDE_TOLERANCE_KM
from geo_pcmt.ingest.loading import check_file, load, store_checked
from geo_pcmt.ingest.reading import (
    DEFAULT_MAX_BYTES,
    MAX_XLSX_UNPACKED,
    IngestError,
    read_any,
    read_spatial,
)
from geo_pcmt.ingest.report import Problem, ValidationReport
from geo_pcmt.ingest.validation import LAT_NAMES, LON_NAMES, validate

__all__ = ["boundaries", "read_any", "read_spatial", "validate", "load", "check_file",
           "store_checked", "parse_date", "IngestError", "Problem", "ValidationReport",
           "DEFAULT_MAX_BYTES", "MAX_XLSX_UNPACKED", "OUTSIDE_TOLERANCE_KM", "LON_NAMES",
           "LAT_NAMES"]
