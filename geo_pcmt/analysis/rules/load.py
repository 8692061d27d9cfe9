"""Reading rule-set files: YAML with line numbers, every field checked, errors that say where."""
from __future__ import annotations

import difflib
import hashlib
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from geo_pcmt.analysis.rules.expr import Expression, ExprError, parse
from geo_pcmt.analysis.rules.model import (
    CLASSIFICATION_OUTCOMES,
    KINDS,
    RECOGNITION_ONLY,
    UNDETERMINED,
    Criterion,
    Outcome,
    Rate,
    RuleSet,
    RuleSetError,
    assessment_variables,
)

RULES_DIR = Path(__file__).resolve().parent

_TOP_FIELDS = {"id": True, "aliases": False, "version": True, "kind": True, "label": False,
               "title_vi": False, "title_en": False, "source": True, "source_url": False,
               "valid_from": True, "valid_to": False, "rates": False, "outcomes": True,
               "otherwise": True, "note": False}
_RATE_FIELDS = {"numerator": True, "label_vi": False, "label_en": False, "note": False}
_OUTCOME_FIELDS = {"class": True, "label_vi": False, "label_en": False, "at_least": True,
                   "criteria": True, "note": False}
_CRITERION_FIELDS = {"id": True, "when": True, "label_vi": False, "label_en": False,
                     "unverified": False, "note": False}


# --- YAML with line numbers ---------------------------------------------------------------

class _Map(dict):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    lines: dict


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --- checking fields -------------------------------------------------------------------------

def _check_fields(data: Any, allowed: dict[str, bool], path: str, where: str,
                  line: int | None) -> _Map:
    """``data`` if it is a mapping with only ``allowed`` keys and every required one."""
    if not isinstance(data, dict):
        raise RuleSetError(path, line, where, f"expected a mapping (key: value), got "
                           f"{type(data).__name__}")
    lines = getattr(data, "lines", {})
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise RuleSetError(path, lines.get(key, getattr(data, "line", line)), where,
                               f"unknown field {key!r}{hint} (known fields: "
                               f"{', '.join(allowed)})")
    for key, required in allowed.items():
        if required and (key not in data or data[key] is None):
            raise RuleSetError(path, getattr(data, "line", line), where,
                               f"required field {key!r} is missing")
    return data


def _text(data: Mapping, key: str, path: str, where: str) -> str:
    """``data[key]`` as text ("" when absent); a list or mapping there is an error."""
    v = data.get(key)
    if v is None:
        return ""
    if not isinstance(v, (str, int, float)) or isinstance(v, bool):
        raise RuleSetError(path, data.lines.get(key), where, f"{key!r} must be text")
    return str(v)


def _date(data: Mapping, key: str, path: str) -> date | None:
    """``data[key]`` as a date (None when absent)."""
    v = data.get(key)
    if v is None:
        return None
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError:
        raise RuleSetError(path, data.lines.get(key), None,
                           f"{key!r} must be a date YYYY-MM-DD, got {v!r}") from None


def _expr(text: Any, path: str, line: int | None, where: str, field_name: str) -> Expression:
    """A parsed expression; a syntax error names the file, line and criterion."""
    try:
        return parse(text)
    except ExprError as exc:
        raise RuleSetError(path, line, where, f"{field_name} {str(text)!r}: {exc}") from None


# --- parsing --------------------------------------------------------------------------------

def _read_yaml(text: str, path: str) -> _Map:
    """The YAML document, with line numbers; a syntax error names the line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 — SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = f" column {mark.column + 1}:" if mark else ""
        raise RuleSetError(path, line, None, f"YAML syntax error:{col} "
                           f"{exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise RuleSetError(path, None, None, f"YAML error: {exc}") from None


def _header(data: _Map, path: str) -> dict:
    """id, kind, label, valid dates and aliases, checked."""
    rs_id = _text(data, "id", path, "rule set")
    kind = _text(data, "kind", path, rs_id)
    if kind not in KINDS:
        raise RuleSetError(path, data.lines.get("kind"), rs_id,
                           f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    label = _text(data, "label", path, rs_id) or None
    if kind == "label" and label not in RECOGNITION_ONLY:
        raise RuleSetError(path, data.lines.get("label", data.line), rs_id,
                           f"a label rule set needs label: one of {', '.join(RECOGNITION_ONLY)}")
    valid_from, valid_to = _date(data, "valid_from", path), _date(data, "valid_to", path)
    if valid_to is not None and valid_to < valid_from:
        raise RuleSetError(path, data.lines.get("valid_to"), rs_id,
                           f"valid_to {valid_to} is before valid_from {valid_from}")
    aliases = data.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise RuleSetError(path, data.lines.get("aliases"), rs_id, "aliases must be a list of text")
    return {"id": rs_id, "kind": kind, "label": label, "valid_from": valid_from,
            "valid_to": valid_to, "aliases": tuple(aliases)}


def _rates(data: _Map, path: str, rs_id: str, variables: set[str]) -> list[Rate]:
    """The rates: new names, numerators over assessment fields only."""
    rates: list[Rate] = []
    raw_rates = data.get("rates") or {}
    if not isinstance(raw_rates, dict):
        raise RuleSetError(path, data.lines.get("rates"), rs_id, "rates must be a mapping")
    for name, spec in raw_rates.items():
        line = raw_rates.lines.get(name)
        where = f"rate {name}"
        if not str(name).isidentifier() or name in variables:
            raise RuleSetError(path, line, where, "a rate needs a new name made of letters, "
                               "digits and _")
        spec = _check_fields(spec, _RATE_FIELDS, path, where, line)
        num = _expr(spec["numerator"], path, spec.lines.get("numerator"), where, "numerator")
        unknown = num.names - variables
        if unknown or num.refs:
            raise RuleSetError(path, spec.lines.get("numerator"), where,
                               f"numerator may only use assessment fields; unknown: "
                               f"{', '.join(sorted(unknown) or [f'{a}.{b}' for a, b in num.refs])}")
        rates.append(Rate(name, num, _text(spec, "label_vi", path, where),
                          _text(spec, "label_en", path, where)))
    return rates


def _criterion(craw: Any, raw: _Map, value: str, taken: list[Criterion], path: str,
               variables: set[str]) -> Criterion:
    """One criterion of outcome ``value``: an id not ``taken``, a ``when`` over known names."""
    where = f"outcome {value}"
    named = craw.get("id") if isinstance(craw, dict) else None
    craw = _check_fields(craw, _CRITERION_FIELDS, path,
                         f"criterion {value}.{named}" if named else f"{where} criterion",
                         getattr(craw, "line", raw.lines.get("criteria")))
    cid = _text(craw, "id", path, where)
    cwhere = f"criterion {value}.{cid}"
    if not cid.isidentifier():
        raise RuleSetError(path, craw.lines.get("id"), cwhere,
                           "criterion id must be a letter or word (a, b, đ, …)")
    if any(c.id == cid for c in taken):
        raise RuleSetError(path, craw.lines.get("id"), cwhere, "criterion id used twice")
    when = _expr(craw["when"], path, craw.lines.get("when"), cwhere, "when")
    unknown = when.names - variables
    if unknown:
        raise RuleSetError(path, craw.lines.get("when"), cwhere,
                           f"unknown name(s) {', '.join(sorted(unknown))}; "
                           f"known: {', '.join(sorted(variables))}")
    unverified = craw.get("unverified", False)
    if not isinstance(unverified, bool):
        raise RuleSetError(path, craw.lines.get("unverified"), cwhere,
                           "unverified must be true or false")
    return Criterion(value, cid, when, _text(craw, "label_vi", path, cwhere),
                     _text(craw, "label_en", path, cwhere), unverified,
                     _text(craw, "note", path, cwhere), craw.lines.get("when"))


def _outcome(raw: Any, data: _Map, kind: str, seen: set[str], path: str,
             variables: set[str]) -> Outcome:
    """One outcome: a value the kind may give, not ``seen`` before, its criteria, at_least."""
    raw = _check_fields(raw, _OUTCOME_FIELDS, path, "outcome", data.lines.get("outcomes"))
    value = _text(raw, "class", path, "outcome")
    where = f"outcome {value}"
    _check_outcome_value(value, kind, path, raw.lines.get("class"), where)
    if value in seen:
        raise RuleSetError(path, raw.lines.get("class"), where, "outcome listed twice")
    seen.add(value)
    crits_raw = raw["criteria"]
    if not isinstance(crits_raw, list) or not crits_raw:
        raise RuleSetError(path, raw.lines.get("criteria"), where,
                           "criteria must be a non-empty list")
    criteria: list[Criterion] = []
    for craw in crits_raw:
        criteria.append(_criterion(craw, raw, value, criteria, path, variables))
    at_least = raw["at_least"]
    if at_least == "all":
        at_least = len(criteria)
    if isinstance(at_least, bool) or not isinstance(at_least, int) \
            or not 1 <= at_least <= len(criteria):
        raise RuleSetError(path, raw.lines.get("at_least"), where,
                           f"at_least must be 'all' or a whole number from 1 to "
                           f"{len(criteria)}, got {raw['at_least']!r}")
    return Outcome(value, at_least, tuple(criteria), _text(raw, "label_vi", path, where),
                   _text(raw, "label_en", path, where))


def parse_rule_set(text: str, *, path: str = "<text>") -> RuleSet:
    """Build a :class:`RuleSet` from YAML (or JSON) text; raise :class:`RuleSetError`.

    Parameters
    ----------
    text : str
        The file content.
    path : str
        Name used in error messages (the file's path).
    """
    data = _check_fields(_read_yaml(text, path), _TOP_FIELDS, path, "rule set", 1)
    head = _header(data, path)
    rs_id, kind = head["id"], head["kind"]
    variables = set(assessment_variables())
    rates = _rates(data, path, rs_id, variables)
    variables |= {r.name for r in rates}
    raw_outcomes = data["outcomes"]
    if not isinstance(raw_outcomes, list) or not raw_outcomes:
        raise RuleSetError(path, data.lines.get("outcomes"), rs_id,
                           "outcomes must be a non-empty list")
    otherwise = _text(data, "otherwise", path, rs_id)
    seen: set[str] = set()
    outcomes = [_outcome(raw, data, kind, seen, path, variables) for raw in raw_outcomes]
    _check_outcome_value(otherwise, kind, path, data.lines.get("otherwise"), "otherwise")
    if otherwise in seen:
        raise RuleSetError(path, data.lines.get("otherwise"), "otherwise",
                           f"{otherwise!r} is also an outcome")
    return RuleSet(
        **head, version=_text(data, "version", path, rs_id),
        source=_text(data, "source", path, rs_id), outcomes=tuple(outcomes),
        otherwise=otherwise, rates=tuple(rates), title_vi=_text(data, "title_vi", path, rs_id),
        title_en=_text(data, "title_en", path, rs_id),
        source_url=_text(data, "source_url", path, rs_id), path=path,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        order=_dependency_order(outcomes, path))


def _check_outcome_value(value: str, kind: str, path: str, line: int | None, where: str) -> None:
    """An outcome a rule set of ``kind`` may give (never a recognition label)."""
    if not value.isidentifier():
        raise RuleSetError(path, line, where, f"{value!r} must be a word made of letters, "
                           "digits and _ (it is used in references like loai_II.a)")
    if value in RECOGNITION_ONLY or value == UNDETERMINED:
        raise RuleSetError(path, line, where, f"a rule set cannot give {value!r}: drug-free "
                           "status comes only from a recognition record, and "
                           f"{UNDETERMINED!r} is the engine's answer to missing data")
    if kind == "classification" and value not in CLASSIFICATION_OUTCOMES:
        raise RuleSetError(path, line, where, f"classification outcomes are "
                           f"{', '.join(CLASSIFICATION_OUTCOMES)}, got {value!r}")


def _dependency_order(outcomes: list[Outcome], path: str) -> tuple[Criterion, ...]:
    """Criteria ordered so that every referenced criterion is evaluated first."""
    by_key = {(c.outcome, c.id): c for o in outcomes for c in o.criteria}
    for c in by_key.values():
        for ref in c.when.refs:
            if ref not in by_key:
                raise RuleSetError(path, c.line, f"criterion {c.key}",
                                   f"refers to {ref[0]}.{ref[1]}, which does not exist")
    order: list[Criterion] = []
    state: dict[tuple[str, str], int] = {}  # 1 visiting, 2 done

    def visit(key, chain):
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            cycle = " → ".join(f"{a}.{b}" for a, b in chain + [key])
            raise RuleSetError(path, by_key[key].line, f"criterion {key[0]}.{key[1]}",
                               f"circular reference: {cycle}")
        state[key] = 1
        for ref in sorted(by_key[key].when.refs):
            visit(ref, chain + [key])
        state[key] = 2
        order.append(by_key[key])

    for key in by_key:
        visit(key, [])
    return tuple(order)


def load_rule_set(path: str | Path) -> RuleSet:
    """Read and check one rule-set file (YAML or JSON)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleSetError(str(path), None, None, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RuleSetError(str(path), None, None, "not UTF-8 text") from None
    return parse_rule_set(text, path=str(path))


def load_rule_sets(directory: str | Path | None = None,
                   files: Iterable[str | Path] = ()) -> dict[str, RuleSet]:
    """Every rule set in ``directory`` (default: the packaged ``geo_pcmt/rules/``) plus
    ``files``, keyed by id. Two files with the same id are an error."""
    directory = Path(directory) if directory else RULES_DIR
    paths = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    paths += [Path(f) for f in files]
    out: dict[str, RuleSet] = {}
    for p in paths:
        rs = load_rule_set(p)
        clash = next((o for o in out.values() if any(o.matches(n) for n in rs.names())), None)
        if clash is not None:
            raise RuleSetError(str(p), 1, rs.id, f"id or alias already used by {clash.path}")
        out[rs.id] = rs
    return out


def find_rule_set(rule_sets: Mapping[str, RuleSet] | Iterable[RuleSet], name: str) -> RuleSet:
    """The rule set whose id or alias is ``name``; ``KeyError`` listing the known ids."""
    sets = list(rule_sets.values()) if isinstance(rule_sets, Mapping) else list(rule_sets)
    for rs in sets:
        if rs.matches(name):
            return rs
    raise KeyError(f"unknown rule set {name!r}; known: {', '.join(r.id for r in sets)}")


def rule_set_for(rule_sets: Mapping[str, RuleSet] | Iterable[RuleSet], day: date,
                 kind: str = "classification") -> RuleSet | None:
    """The rule set of ``kind`` in force on ``day`` (the most recent one if several)."""
    sets = list(rule_sets.values()) if isinstance(rule_sets, Mapping) else list(rule_sets)
    valid = [r for r in sets if r.kind == kind and r.valid_on(day)]
    return max(valid, key=lambda r: r.valid_from) if valid else None


__all__ = ["RULES_DIR", "find_rule_set", "load_rule_set", "load_rule_sets", "parse_rule_set",
           "rule_set_for"]
