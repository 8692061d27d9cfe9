"""The rule-set model: rates, criteria, outcomes, and the engine that applies them to one assessment."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Mapping

from geo_pcmt.analysis.rules.expr import Expression, evaluate
from geo_pcmt.layers import get_layer
from geo_pcmt.values import is_missing

CLASS_STATUSES = ("loai_I", "loai_II", "loai_III")
# "có tệ nạn ma túy, không phải địa bàn trọng điểm": drug activity recorded, below class III
# (Lâm Đồng 2022: 87 % of communes had drug activity, 24 % were class III; DOMAIN §10)
DRUG_ACTIVITY = "co_te_nan_ma_tuy"
NOT_KEY_AREA = "khong_trong_diem"  # assessed, no class fired: "không thuộc diện trọng điểm"
CLASSIFICATION_OUTCOMES = CLASS_STATUSES + (DRUG_ACTIVITY, NOT_KEY_AREA)
UNDETERMINED = "chua_danh_gia"      # not assessed, or missing data could change the class
RECOGNITION_ONLY = ("khong_ma_tuy", "sach_ve_ma_tuy")  # only a recognition record gives these
KINDS = ("classification", "label")


def assessment_variables() -> tuple[str, ...]:
    """Numeric and yes/no fields of ``commune_assessments`` a criterion may read."""
    spec = get_layer("commune_assessments")
    return tuple(f.name for f in spec.fields if f.type in ("int", "float", "bool"))


class RuleSetError(ValueError):
    """A rule-set file that cannot be used; says where (file, line, criterion) and why."""

    def __init__(self, path: str, line: int | None, where: str | None, message: str):
        self.path, self.line, self.where, self.message = path, line, where, message
        loc = path + (f", line {line}" if line else "")
        super().__init__(f"{loc}: {where + ': ' if where else ''}{message}")



@dataclass(frozen=True)
class Rate:
    """A rate the engine computes: ``numerator / population × 100`` (per cent)."""

    name: str
    numerator: Expression
    label_vi: str = ""
    label_en: str = ""


@dataclass(frozen=True)
class Criterion:
    """One criterion of one outcome (e.g. ``loai_I.a``)."""

    outcome: str
    id: str
    when: Expression
    label_vi: str = ""
    label_en: str = ""
    unverified: bool = False
    note: str = ""
    line: int | None = None

    @property
    def key(self) -> str:
        return f"{self.outcome}.{self.id}"


@dataclass(frozen=True)
class Outcome:
    """A result (a class such as ``loai_I``) and the rule that gives it."""

    value: str
    at_least: int
    criteria: tuple[Criterion, ...]
    label_vi: str = ""
    label_en: str = ""


@dataclass(frozen=True)
class Evaluation:
    """What a rule set says about one assessment.

    ``criteria`` has one dict per criterion: ``outcome``, ``id``, ``label_vi``, ``label_en``,
    ``when`` (the expression), ``fired`` (True / False / None = unknown), ``value`` and
    ``threshold`` (of the comparison that decided), ``checks`` (every comparison made),
    ``unverified``, ``counts`` (the criterion fires with the verified bands alone) and
    ``rests_on`` (the unverified criteria its firing rests on: itself, or those it refers to,
    e.g. ``loai_II.đ`` counting ``loai_III.a``).

    For a classification rule set ``computed_class`` is decided by verified bands only: a
    placeholder threshold can never by itself make a commune a key area.
    ``provisional_class`` is what the file's bands, placeholders included, would say, and
    ``rests_on`` maps each criterion of the provisional class that fired only through an
    unverified band to those bands (empty when both agree).
    """

    computed_class: str
    reason: str
    criteria: list[dict]
    rates: dict[str, float | None]
    missing: list[str]
    provisional_class: str | None = None
    provisional_reason: str = ""
    rests_on: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """A loaded, checked rule set. Build with :func:`parse_rule_set` or :func:`load_rule_set`."""

    id: str
    version: str
    kind: str
    source: str
    valid_from: date
    valid_to: date | None
    outcomes: tuple[Outcome, ...]
    otherwise: str
    rates: tuple[Rate, ...] = ()
    aliases: tuple[str, ...] = ()
    label: str | None = None
    title_vi: str = ""
    title_en: str = ""
    source_url: str = ""
    path: str = "<text>"
    digest: str = ""
    order: tuple[Criterion, ...] = field(default=(), repr=False)

    @property
    def version_tag(self) -> str:
        """``id@version#digest``: the version and the exact file content it came from."""
        return f"{self.id}@{self.version}#{self.digest[:8]}"

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        """Every criterion, outcome by outcome, in file order."""
        return tuple(c for o in self.outcomes for c in o.criteria)

    @property
    def unverified(self) -> list[str]:
        """Keys of criteria whose thresholds were not checked against the official text."""
        return [c.key for c in self.criteria if c.unverified]

    def names(self) -> tuple[str, ...]:
        """The id and the aliases."""
        return (self.id,) + self.aliases

    def matches(self, name: str) -> bool:
        """True when ``name`` is this rule set's id or an alias (case-insensitive)."""
        low = str(name).strip().casefold()
        return any(low == n.casefold() for n in self.names())

    def valid_on(self, day: date) -> bool:
        """Whether the rule set is in force on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def _inputs(self, names: Iterable[str]) -> set[str]:
        """Assessment fields behind ``names`` (a rate stands for its numerator and population)."""
        rates = {r.name: r for r in self.rates}
        out: set[str] = set()
        for n in names:
            out |= (set(rates[n].numerator.names) | {"population"}) if n in rates else {n}
        return out

    def _rates_env(self, row: Mapping[str, Any]) -> tuple[dict[str, Any], dict]:
        """Assessment fields and the rates computed from them (unknown without population)."""
        env: dict[str, Any] = {k: row.get(k) for k in assessment_variables()}
        pop = env.get("population")
        rates: dict[str, float | None] = {}
        for rate in self.rates:
            num, _ = evaluate(rate.numerator, env)
            ok = num is not None and pop is not None and pop == pop and pop > 0
            # multiply first and round: 3 / 1000 × 100 must compare equal to 0.3 at a threshold
            rates[rate.name] = round(float(num) * 100.0 / float(pop), 9) if ok else None
        env.update(rates)
        return env, rates

    def _pass(self, env: Mapping[str, Any], *, verified_only: bool
              ) -> tuple[dict[tuple[str, str], bool | None], dict[str, list]]:
        """Every criterion's result, in dependency order; ``verified_only`` counts an
        unverified criterion as not fired (and so every criterion referring to it)."""
        fired: dict[tuple[str, str], bool | None] = {}
        checks: dict[str, list] = {}
        for crit in self.order:
            value, made = evaluate(crit.when, env, fired)
            result = None if value is None else bool(value)
            checks[crit.key] = made
            fired[(crit.outcome, crit.id)] = False if verified_only and crit.unverified \
                else result
        return fired, checks

    def _decide(self, fired: Mapping[tuple[str, str], bool | None],
                missing: set[str]) -> tuple[str, str]:
        """The first outcome whose ``at_least`` criteria fired (or undetermined), and why."""
        for outcome in self.outcomes:
            crit_results = [fired[(c.outcome, c.id)] for c in outcome.criteria]
            n_true = sum(1 for r in crit_results if r is True)
            n_unknown = sum(1 for r in crit_results if r is None)
            ids = ", ".join(c.id for c, r in zip(outcome.criteria, crit_results) if r is True)
            need = outcome.at_least
            if n_true >= need:
                return outcome.value, (f"{outcome.value}: {n_true} of {len(crit_results)} "
                                       f"criteria fired ({ids}); needs {need}")
            if n_true + n_unknown >= need:
                return UNDETERMINED, (
                    f"missing data ({', '.join(sorted(missing)) or 'unknown values'}) could "
                    f"make it {outcome.value}: {n_true} fired, {n_unknown} unknown, needs {need}")
        return self.otherwise, "no outcome's criteria fired"

    def _rests_on(self, key: tuple[str, str], fired: Mapping, strict: Mapping) -> list[str]:
        """Unverified criteria behind ``key`` firing with placeholders but not without."""
        by_key = {(c.outcome, c.id): c for c in self.criteria}
        out: list[str] = []
        todo, seen = [key], set()
        while todo:
            k = todo.pop(0)
            if k in seen or fired.get(k) is not True or strict.get(k) is True:
                continue
            seen.add(k)
            crit = by_key[k]
            if crit.unverified:
                out.append(crit.key)
            todo += sorted(crit.when.refs)
        return out

    def evaluate(self, row: Mapping[str, Any]) -> Evaluation:
        """Apply the rule set to one assessment (a mapping of field → value).

        Rates are computed first (unknown when population is missing or 0), then every
        criterion in dependency order, then the outcomes in file order. A class is given when
        at least ``at_least`` of its criteria fired; when too many criteria are *unknown* to
        tell, the result is ``chua_danh_gia`` and ``reason`` names the missing fields.

        A classification is decided twice: with every band in the file (the provisional
        class) and with the verified bands alone (the class given); a placeholder band never
        by itself makes a commune a key area. Label rule sets are decided once.
        """
        env, rates = self._rates_env(row)
        fired, checks = self._pass(env, verified_only=False)
        strict = self._pass(env, verified_only=True)[0] if self.kind == "classification" \
            else fired
        missing: set[str] = set()
        for crit in self.order:
            if fired[(crit.outcome, crit.id)] is None:
                missing |= {n for n in self._inputs(crit.when.names) if is_missing(row.get(n))}
        results: dict[str, dict] = {}
        for crit in self.criteria:
            key = (crit.outcome, crit.id)
            result = fired[key]
            decisive = _decisive(checks[crit.key], result)
            results[crit.key] = {
                "outcome": crit.outcome, "id": crit.id, "label_vi": crit.label_vi,
                "label_en": crit.label_en, "when": crit.when.text, "fired": result,
                "value": decisive["value"] if decisive else None,
                "threshold": decisive["threshold"] if decisive else None,
                "checks": [c.as_dict() for c in checks[crit.key]], "unverified": crit.unverified,
                "counts": strict[key], "rests_on": self._rests_on(key, fired, strict),
            }
        criteria = [results[c.key] for c in self.criteria]
        provisional, prov_reason = self._decide(fired, missing)
        computed, reason = self._decide(strict, missing) if strict is not fired \
            else (provisional, prov_reason)
        rests_on: dict[str, list[str]] = {}
        if provisional != computed:
            rests_on = {c["outcome"] + "." + c["id"]: c["rests_on"] for c in criteria
                        if c["outcome"] == provisional and c["rests_on"]}
            reason += (f"; {provisional} only with unverified bands "
                       f"({', '.join(sorted({b for v in rests_on.values() for b in v}))})")
        return Evaluation(computed, reason, criteria, rates, sorted(missing), provisional,
                          prov_reason, rests_on)


def _decisive(checks: list, result: bool | None) -> dict | None:
    """The comparison that explains a criterion: the first one agreeing with the result."""
    if not checks:
        return None
    return next((c for c in checks if c.result is result), checks[0]).as_dict()


__all__ = ["CLASS_STATUSES", "CLASSIFICATION_OUTCOMES", "Criterion", "DRUG_ACTIVITY", "Evaluation",
           "KINDS", "NOT_KEY_AREA", "Outcome",
           "RECOGNITION_ONLY", "Rate", "RuleSet", "RuleSetError", "UNDETERMINED",
           "assessment_variables"]
