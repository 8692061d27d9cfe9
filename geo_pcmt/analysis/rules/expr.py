"""A tiny, safe expression language for rule-set criteria (no Python ``eval``).

Criteria in the rule-set files are written like Python comparisons::

    addicts_users_pct >= 0.5
    plants >= 3000 or plant_area_m2 >= 750
    on_drug_route and count(loai_II.a, loai_II.b, loai_II.c, loai_II.d) >= 2
    0.05 <= arrests_pct < 0.1

The text is parsed with :mod:`ast` and only a whitelist of node types is accepted: numbers and
``True``/``False``, variable names, references to other criteria (``class.id``), ``+ - * /``,
comparisons (chained too), ``and``/``or``/``not`` and the functions ``count``, ``min``,
``max`` and ``abs``. Anything else (attribute access on values, subscripts, lambdas, strings,
keyword arguments …) is refused when the rule set is loaded, with the column where it starts.

Evaluation uses three-valued (Kleene) logic so that a missing count makes a criterion
*unknown* instead of silently false, and records every comparison it makes, so each criterion
can be explained with its value and threshold.
"""
from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

MAX_LENGTH = 500  # criteria are one-liners; longer text is a mistake or an attack
MAX_DEPTH = 40

_COMPARE: dict[type, tuple[str, Callable[[Any, Any], bool]]] = {
    ast.Lt: ("<", operator.lt), ast.LtE: ("<=", operator.le), ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge), ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne),
}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}


def _count(*args):
    if any(a is None for a in args):
        return None
    return sum(1 for a in args if a)


def _none_safe(fn):
    def wrapped(*args):
        return None if any(a is None for a in args) else fn(*args)
    return wrapped


FUNCTIONS: dict[str, tuple[Callable, int, int | None]] = {
    # name: (function, min args, max args)
    "count": (_count, 1, None),
    "min": (_none_safe(min), 2, None),
    "max": (_none_safe(max), 2, None),
    "abs": (_none_safe(abs), 1, 1),
}


class ExprError(ValueError):
    """An expression that cannot be accepted; ``column`` is 1-based within the text."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return self.message + (f" (at column {self.column})" if self.column else "")


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression.

    ``names`` are the variables it reads; ``refs`` the criteria it refers to, as
    ``(class, id)`` pairs.
    """

    text: str
    tree: ast.Expression = field(repr=False, compare=False)
    names: frozenset[str]
    refs: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Check:
    """One comparison made while evaluating: ``left op right`` → ``result``."""

    left: str
    value: Any
    op: str
    right: str
    threshold: Any
    result: bool | None

    def as_dict(self) -> dict:
        return {"left": self.left, "value": _plain(self.value), "op": self.op,
                "right": self.right, "threshold": _plain(self.threshold), "result": self.result}


def _plain(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 6) if math.isfinite(v) else None
    if hasattr(v, "item"):  # numpy scalars
        return _plain(v.item())
    return v


def parse(text: str) -> Expression:
    """Parse and check ``text``; raise :class:`ExprError` naming what is not allowed.

    Examples
    --------
    >>> e = parse("plants >= 3000 or plant_area_m2 >= 750")
    >>> sorted(e.names)
    ['plant_area_m2', 'plants']
    """
    if not isinstance(text, str):
        raise ExprError(f"expected an expression as text, got {type(text).__name__} {text!r}")
    text = text.strip()
    if not text:
        raise ExprError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"syntax error: {exc.msg}", exc.offset) from None
    names: set[str] = set()
    refs: set[tuple[str, str]] = set()
    _check(tree.body, names, refs, 0)
    return Expression(text, tree, frozenset(names), frozenset(refs))


def _col(node: ast.AST) -> int | None:
    off = getattr(node, "col_offset", None)
    return None if off is None else off + 1


def _check(node: ast.AST, names: set, refs: set, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ExprError("expression nested too deeply", _col(node))
    d = depth + 1
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, names, refs, d)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub, ast.UAdd)):
        _check(node.operand, names, refs, d)
    elif isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        _check(node.left, names, refs, d)
        _check(node.right, names, refs, d)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise ExprError(f"comparison {type(op).__name__} is not allowed; use "
                                "<, <=, >, >=, ==, !=", _col(node))
        _check(node.left, names, refs, d)
        for c in node.comparators:
            _check(c, names, refs, d)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, (bool, int, float)):
            raise ExprError(f"only numbers and True/False are allowed, not {node.value!r}",
                            _col(node))
    elif isinstance(node, ast.Name):
        names.add(node.id)
    elif isinstance(node, ast.Attribute):
        if not isinstance(node.value, ast.Name):
            raise ExprError("only criterion references of the form class.id are allowed "
                            "(e.g. loai_II.a)", _col(node))
        refs.add((node.value.id, node.attr))
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            fn = ast.unparse(node.func)
            raise ExprError(f"function {fn!r} is not allowed; allowed: "
                            f"{', '.join(FUNCTIONS)}", _col(node))
        if node.keywords:
            raise ExprError(f"{node.func.id}() takes no keyword arguments", _col(node))
        _, lo, hi = FUNCTIONS[node.func.id]
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise ExprError("*arguments are not allowed", _col(node))
        if len(node.args) < lo or (hi is not None and len(node.args) > hi):
            raise ExprError(f"{node.func.id}() takes {lo}{'' if hi == lo else '+'} "
                            f"argument(s), got {len(node.args)}", _col(node))
        for a in node.args:
            _check(a, names, refs, d)
    else:
        what = type(node).__name__
        raise ExprError(f"{what} is not allowed in a criterion; use numbers, names, "
                        "+ - * /, comparisons, and/or/not and count/min/max/abs", _col(node))


class _Evaluator:
    def __init__(self, expr: Expression, env: Mapping[str, Any],
                 refs: Mapping[tuple[str, str], bool | None]):
        self.text = expr.text
        self.env = env
        self.refs = refs
        self.checks: list[Check] = []

    def src(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def ev(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            v = self.env.get(node.id)
            return None if _missing(v) else v
        if isinstance(node, ast.Attribute):
            return self.refs.get((node.value.id, node.attr))
        if isinstance(node, ast.BoolOp):
            vals = [self.ev(v) for v in node.values]  # all of them: every check is explained
            return _kleene_and(vals) if isinstance(node.op, ast.And) else _kleene_or(vals)
        if isinstance(node, ast.UnaryOp):
            v = self.ev(node.operand)
            if v is None:
                return None
            if isinstance(node.op, ast.Not):
                return not v
            return -v if isinstance(node.op, ast.USub) else +v
        if isinstance(node, ast.BinOp):
            a, b = self.ev(node.left), self.ev(node.right)
            if a is None or b is None:
                return None
            if isinstance(node.op, ast.Div) and b == 0:
                return None  # undefined, reported as unknown rather than crashing a whole run
            return _ARITH[type(node.op)](a, b)
        if isinstance(node, ast.Compare):
            results = []
            left_node, left = node.left, self.ev(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                right = self.ev(right_node)
                sym, fn = _COMPARE[type(op)]
                res = None if left is None or right is None else bool(fn(left, right))
                if isinstance(left_node, ast.Constant) and not isinstance(right_node, ast.Constant):
                    # "0.05 <= arrests_pct" reads as arrests_pct >= 0.05: value first
                    self.checks.append(Check(self.src(right_node), right, _MIRROR[sym],
                                             self.src(left_node), left, res))
                else:
                    self.checks.append(Check(self.src(left_node), left, sym,
                                             self.src(right_node), right, res))
                results.append(res)
                left_node, left = right_node, right
            return _kleene_and(results)
        if isinstance(node, ast.Call):
            fn = FUNCTIONS[node.func.id][0]
            return fn(*[self.ev(a) for a in node.args])
        raise ExprError(f"cannot evaluate {type(node).__name__}")  # unreachable after parse()


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN, pd.NA
    except (TypeError, ValueError):
        return True


def _kleene_and(vals: list) -> bool | None:
    if any(v is not None and not v for v in vals):
        return False
    return None if any(v is None for v in vals) else True


def _kleene_or(vals: list) -> bool | None:
    if any(v is not None and v for v in vals):
        return True
    return None if any(v is None for v in vals) else False


def evaluate(expr: Expression, env: Mapping[str, Any],
             refs: Mapping[tuple[str, str], bool | None] | None = None
             ) -> tuple[Any, list[Check]]:
    """Value of ``expr`` in ``env`` and the comparisons made on the way.

    Missing values (None, NaN) propagate as *unknown* (None): ``unknown and False`` is False,
    ``unknown or True`` is True, anything else with an unknown is unknown. Division by zero
    is unknown too.

    Examples
    --------
    >>> value, checks = evaluate(parse("plants >= 3000 or plant_area_m2 >= 750"),
    ...                          {"plants": 1200, "plant_area_m2": 800})
    >>> value, [(c.left, c.value, c.threshold, c.result) for c in checks]
    (True, [('plants', 1200, 3000, False), ('plant_area_m2', 800, 750, True)])
    """
    ev = _Evaluator(expr, env, refs or {})
    value = ev.ev(expr.tree.body)
    if isinstance(value, float) and not math.isfinite(value):
        value = None
    return value, ev.checks
