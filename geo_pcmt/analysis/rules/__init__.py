"""Rule sets for commune classification, as versioned data files, and the engine that applies them.

:mod:`.model` holds the rule-set model and its engine (:meth:`RuleSet.evaluate`), :mod:`.load`
reads and checks the files, :mod:`.expr` parses and evaluates the safe expressions.

The files in this folder (``28_2025.yaml``, ``3122_2010.yaml``, ``sach_ve_ma_tuy_nghe_an.yaml``)
hold every threshold; no rule lives in a Python ``if`` chain. A rule set has an ``id`` (the
value assessments carry in ``rule_set``), a ``version``, a ``source``, valid dates, optional
``rates`` (numerator expressions the engine divides by ``population`` × 100) and ordered
``outcomes``: the first outcome whose ``at_least`` criteria fire is the result; ``otherwise``
names the result when none does. Criteria are safe expressions (:mod:`geo_pcmt.analysis.rules.expr`).

Loading checks everything once and fails with an error naming the file, the line and the
criterion: YAML syntax, unknown or missing fields, expression syntax, unknown variable names,
references to criteria that do not exist, circular references, and outcomes a rule set may
not give (drug-free status comes only from a recognition record, never from a rule).

Examples
--------
>>> from geo_pcmt.analysis.rules import load_rule_sets, find_rule_set
>>> rs = find_rule_set(load_rule_sets(), "28/2025")
>>> ev = rs.evaluate({"population": 2000, "addicts_with_records": 8, "users": 2,
...                   "harbouring_locations": 2, "offenders_arrested": 3, "plants": 0,
...                   "plant_area_m2": 0, "on_drug_route": True})
>>> ev.computed_class
'loai_I'
"""
from __future__ import annotations

from geo_pcmt.analysis.rules.load import (
    RULES_DIR,
    find_rule_set,
    load_rule_set,
    load_rule_sets,
    parse_rule_set,
    rule_set_for,
)
from geo_pcmt.analysis.rules.model import (
    CLASS_STATUSES,
    CLASSIFICATION_OUTCOMES,
    DRUG_ACTIVITY,
    KINDS,
    NOT_KEY_AREA,
    RECOGNITION_ONLY,
    UNDETERMINED,
    Criterion,
    Evaluation,
    Outcome,
    Rate,
    RuleSet,
    RuleSetError,
    assessment_variables,
)

__all__ = ["CLASS_STATUSES", "CLASSIFICATION_OUTCOMES", "Criterion", "DRUG_ACTIVITY", "Evaluation", "KINDS", "NOT_KEY_AREA", "Outcome",
           "RULES_DIR", "RECOGNITION_ONLY", "Rate", "RuleSet", "RuleSetError", "UNDETERMINED",
           "assessment_variables", "find_rule_set", "load_rule_set", "load_rule_sets",
           "parse_rule_set", "rule_set_for"]
