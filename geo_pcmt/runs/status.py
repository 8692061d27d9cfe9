"""The commune-status run: every commune's class per period and its drug-free recognitions.

The one implementation behind ``geo-pcmt status``, ``geo-pcmt progress`` and ``geo-pcmt demo``
(:func:`geo_pcmt.runs.seed.derive`): :func:`read_inputs` reads communes, assessments and
recognitions as a role may see them and loads the rule sets, :func:`run` classifies (pure) and
:func:`write` stores the derived ``commune_status`` layer. Rows carry the run's ``run_id``,
``params`` (role and rule-set versions included) and the highest ``confidentiality`` of the
rows read.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Mapping

import geopandas as gpd
import pandas as pd

from geo_pcmt.analysis.rules import RuleSet, find_rule_set, load_rule_sets
from geo_pcmt.analysis.status import classify, classify_history, commune_status, status_layer
from geo_pcmt.layers import get_layer
from geo_pcmt.runs import common

LAYER = "commune_status"
RECORD_INPUTS = ("communes", "commune_assessments", "recognitions")


def published_level(frames) -> str:
    """Confidentiality of status rows: public, unless a ``secret`` row went into them.

    A commune's class (loại I/II/III, key area or not) is what the province publishes in its
    decisions and reports, so it stays public although it is computed from *restricted*
    assessments; the figures behind it (``criteria``) are an operational field that viewers
    never get (see :mod:`geo_pcmt.access`). A secret input makes the rows secret, as for
    every derived layer.
    """
    highest = common.highest_confidentiality(frames)
    return "secret" if highest == "secret" else get_layer(LAYER).confidentiality_default


class StatusRunError(ValueError):
    """The inputs cannot give a status (no communes, a period nobody assessed …)."""


@dataclass(frozen=True)
class StatusParams:
    """Parameters of a status run (all stored with the results).

    Attributes
    ----------
    rule_set : judge every period by this rule set (id or alias, e.g. ``28/2025``) for a
        comparable series; ``None``: the rule set each assessment names, else the one in
        force at the end of its period.
    periods : only these periods (``YYYY`` or ``YYYY-MM``); empty: every assessed period.
    border_only : only the border communes.
    today : the day recognitions are read on for the current period (default: the run's day).
    rules_dir : a folder of rule-set files to use instead of the packaged ones.
    role : the role the run reads for (default ``analyst``).
    """

    rule_set: str | None = None
    periods: tuple[str, ...] = ()
    border_only: bool = False
    today: date | None = None
    rules_dir: str | None = None
    role: str = common.DEFAULT_ROLE


@dataclass
class StatusRun:
    """What a status run produced.

    Attributes
    ----------
    run_id : str — ``st-<UTC timestamp>-<8 hex of the params>``
    params : dict — stored (as JSON) in every derived row
    status : GeoDataFrame — one row per commune and period (see
        :func:`geo_pcmt.analysis.status.commune_status`), after the period/border filters
    classified : DataFrame — one row per assessment (:func:`geo_pcmt.analysis.status.classify`)
    rows : DataFrame — ``status`` shaped to the ``commune_status`` layer
    confidentiality : str — of every derived row: the highest of the input rows
    rule_sets : dict — id → RuleSet used (versions and unverified bands, for the outputs)
    """

    run_id: str
    params: dict
    status: gpd.GeoDataFrame
    classified: pd.DataFrame
    rows: pd.DataFrame
    confidentiality: str
    rule_sets: Mapping[str, RuleSet] = field(default_factory=dict)


def read_inputs(store, params: StatusParams, role: str | None = None) -> dict[str, Any]:
    """Communes, assessments and recognitions as ``role`` may see them, and the rule sets.

    Returns a dict with the frames ``communes``, ``commune_assessments``, ``recognitions``
    and ``rule_sets`` (id → :class:`~geo_pcmt.analysis.rules.RuleSet`). Raises
    :class:`geo_pcmt.access.AccessDenied` for a role that may not read assessments and
    :class:`~geo_pcmt.analysis.rules.RuleSetError` for a bad rule-set file.
    """
    role = common.check_role(params.role if role is None else role)
    if role != params.role:
        raise ValueError(f"inputs read for role {role!r} but the params say {params.role!r}")
    out: dict[str, Any] = {layer: common.read(store, layer, role) for layer in RECORD_INPUTS}
    out["rule_sets"] = load_rule_sets(params.rules_dir)
    return out


def _classified(assessments: pd.DataFrame, rule_sets: Mapping[str, RuleSet],
                name: str | None) -> pd.DataFrame:
    try:
        if name:
            return classify(assessments, find_rule_set(rule_sets, name))
        return classify_history(assessments, rule_sets)
    except KeyError as exc:
        raise StatusRunError(exc.args[0] if exc.args else str(exc)) from None


def _filtered(status: gpd.GeoDataFrame, params: StatusParams) -> gpd.GeoDataFrame:
    if params.periods:
        bad = sorted(set(params.periods) - set(status["period"]))
        if bad:
            raise StatusRunError(f"no assessments for period(s) {', '.join(bad)}; known: "
                                 f"{', '.join(sorted(status['period'].unique())) or 'none'}")
        status = status[status["period"].isin(params.periods)]
    if params.border_only:
        status = status[status["is_border"]]
    return status


def run(inputs: Mapping[str, Any], params: StatusParams | None = None) -> StatusRun:
    """Classify every commune per period and read its recognitions (pure).

    Parameters
    ----------
    inputs : mapping
        From :func:`read_inputs`: ``communes``, ``commune_assessments``, ``recognitions``,
        ``rule_sets``.
    params : StatusParams, optional

    Returns
    -------
    StatusRun

    Raises
    ------
    StatusRunError
        No communes, an unknown rule set, or a period asked for that nobody assessed.

    Examples
    --------
    >>> params = StatusParams(periods=("2025",))
    >>> result = run(read_inputs(store, params), params)           # doctest: +SKIP
    >>> result.status[["commune_code", "status"]].head()           # doctest: +SKIP
    """
    params = params or StatusParams()
    communes = inputs["communes"]
    if not len(communes):
        raise StatusRunError("the store has no communes; run `geo-pcmt init` (or "
                             "`geo-pcmt demo`) first")
    rule_sets = inputs["rule_sets"]
    classified = _classified(inputs["commune_assessments"], rule_sets, params.rule_set)
    today = params.today or date.today()
    status = _filtered(commune_status(communes, classified, inputs["recognitions"],
                                      today=today), params)
    level = published_level([inputs[k] for k in RECORD_INPUTS])
    stored = {**asdict(params), "periods": list(params.periods), "today": str(today),
              "rule_sets": {r.id: r.version_tag for r in rule_sets.values()},
              "confidentiality": level}
    text = common.params_json(stored)
    run_id = common.new_run_id("st", text, common.now_utc())
    rows = status_layer(status, run_id=run_id, params=stored)
    rows["confidentiality"] = level
    return StatusRun(run_id, stored, status, classified, rows, level, dict(rule_sets))


def write(store, result: StatusRun, *, user: str = "system", mode: str = "upsert") -> list:
    """Store the run's rows in ``commune_status`` (``upsert`` by ``<code>:<period>``, or
    ``replace``); nothing is written for a run without rows."""
    if not len(result.rows):
        return []
    return common.check_and_write(store, {LAYER: result.rows}, mode=mode, user=user)


__all__ = ["StatusParams", "StatusRun", "StatusRunError", "read_inputs", "run", "write"]
