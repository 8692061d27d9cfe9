"""The treatment run: treatment indicators per commune and for the province, against the targets.

Behind ``geo-pcmt treatment``: :func:`read_inputs` reads the ``treatment`` counts, communes
and recognitions as a role may see them and loads the targets file; :func:`run` computes
(pure): per-commune indicators, province totals against Plan 180's treatment targets, and
the drug-free share against the targets of Plans 695 / 1154 / 107 (graded by
:func:`geo_pcmt.analysis.targets.dashboard`, the one grading).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Mapping

import pandas as pd

from geo_pcmt.analysis import treatment
from geo_pcmt.analysis.targets import Dashboard, dashboard
from geo_pcmt.runs import common

RECORD_INPUTS = ("treatment", "communes", "recognitions")


class TreatmentRunError(ValueError):
    """The inputs cannot give treatment figures (no counts for the year asked …)."""


@dataclass(frozen=True)
class TreatmentParams:
    """Parameters: ``year`` (default the latest year with counts), ``today`` (the day
    recognitions are read on), ``targets_file`` (instead of the packaged one), ``role``."""

    year: int | None = None
    today: date | None = None
    targets_file: str | None = None
    role: str = common.DEFAULT_ROLE


@dataclass
class TreatmentRun:
    """``communes`` (per commune), ``province`` (per indicator), ``totals`` (counts),
    ``previous_totals`` (same counts a year earlier, or None), ``drug_free`` (dashboard),
    ``confidentiality`` (highest of the rows read), ``params``."""

    year: int
    communes: pd.DataFrame
    province: pd.DataFrame
    totals: dict[str, int]
    previous_totals: dict[str, int] | None
    drug_free: Dashboard
    confidentiality: str
    params: dict


def read_inputs(store, params: TreatmentParams, role: str | None = None) -> dict[str, Any]:
    """The record layers as ``role`` may see them, and the targets."""
    role = common.check_role(params.role if role is None else role)
    out: dict[str, Any] = {layer: common.read(store, layer, role) for layer in RECORD_INPUTS}
    out["targets"] = treatment.load_targets(params.targets_file)
    return out


def run(inputs: Mapping[str, Any], params: TreatmentParams | None = None) -> TreatmentRun:
    """Compute the treatment figures (pure); :class:`TreatmentRunError` without counts."""
    params = params or TreatmentParams()
    counts, targets = inputs["treatment"], inputs["targets"]
    years = sorted(set(pd.to_numeric(counts["year"], errors="coerce").dropna().astype(int))) \
        if len(counts) else []
    if not years:
        raise TreatmentRunError("no treatment counts in the store; load them with "
                                "`geo-pcmt load treatment FILE` (or run `geo-pcmt demo`)")
    year = params.year or years[-1]
    if year not in years:
        raise TreatmentRunError(f"no treatment counts for {year}; years with counts: "
                                f"{', '.join(map(str, years))}")
    today = params.today or date.today()
    on = min(date(year, 12, 31), today)
    level = common.highest_confidentiality([counts, inputs["recognitions"]], "restricted")
    stored = {**asdict(params), "year": year, "today": str(today), "targets": targets.path}
    return TreatmentRun(
        year, treatment.per_commune(counts, targets, year=year, communes=inputs["communes"]),
        treatment.province(counts, targets, year=year), treatment.totals(counts, year=year),
        treatment.totals(counts, year=year - 1) if year - 1 in years else None,
        dashboard(inputs["recognitions"], inputs["communes"], targets.drug_free, on=on),
        level, stored)


__all__ = ["TreatmentParams", "TreatmentRun", "TreatmentRunError", "read_inputs", "run"]
