"""Formulas as ratios of sums, so that every goal can be computed by one set-based query.

A formula such as `gross_profit / income * 100` or `(income - cogs) / income` is reduced,
exactly, to the form

    (n0 + n1*item1 + n2*item2 + ...) / (d0 + d1*item1 + d2*item2 + ...)

i.e. one numerator and one denominator coefficient per item. The SQL then aggregates each
item over the period (flows summed, balances at period end) and recomputes the ratio from
those parts, which is why ratios are never averaged. Formulas that do not reduce to that
form (a product of two items, a ratio of ratios) are refused with an explanation; financial
KPIs (margins, ratios, growth rates, shares) all fit it.

Expressions are parsed with Python's `ast` and only numbers, item names, + - * / and
parentheses are accepted: nothing is ever evaluated. Numbers are finite and within ±1e15
(the bound of every amount a goal names, model.MAX_AMOUNT), and an expression expands to at
most MAX_TERMS terms, so that no formula can overflow or take long to reduce.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from fractions import Fraction

Monomial = tuple[str, ...]  # sorted item names; () is the constant term
Poly = dict[Monomial, Fraction]

ALLOWED = "+ - * / and parentheses over item names and numbers"
MAX_NUMBER = 1e15
# Terms of an expanded product: (a + b) * (c + d) has four. A formula that reduces has at
# most one per item and a constant; products of sums grow as powers and are refused.
MAX_TERMS = 200


class FormulaError(ValueError):
    """The expression cannot be used; the message says why and what is allowed."""


@dataclass(frozen=True)
class Ratio:
    """numerator / denominator, each a constant plus one coefficient per item."""

    numerator: dict[str, float]
    denominator: dict[str, float]
    numerator_constant: float
    denominator_constant: float

    @property
    def is_plain(self) -> bool:
        """True when the denominator is the constant 1 (no division by an item)."""
        return not self.denominator and self.denominator_constant == 1.0


def compile_formula(expression: str, items: set[str] | frozenset[str]) -> Ratio:
    """Reduce `expression` over `items` to a Ratio, or raise FormulaError."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        column = f" at column {error.offset}" if error.offset else ""
        raise FormulaError(f"is not a valid formula ({error.msg}{column}); use {ALLOWED}") from None
    used: set[str] = set()
    numerator, denominator = _reduce(tree.body, items, used)
    unused = sorted(items - used)
    if unused:
        raise FormulaError(f"does not use item(s) {', '.join(unused)}; remove them or use them")
    numerator, denominator = _normalise(numerator, denominator)
    for part, poly in (("numerator", numerator), ("denominator", denominator)):
        if any(len(monomial) > 1 for monomial in poly):
            raise FormulaError(
                f"multiplies or divides items by each other (its {part} is not a sum of items); "
                "a formula must reduce to (sum of items) / (sum of items), "
                "e.g. '(income - cogs) / income * 100'"
            )
    if not denominator:
        raise FormulaError("always divides by zero")
    try:
        return Ratio(
            numerator={m[0]: float(c) for m, c in sorted(numerator.items()) if m},
            denominator={m[0]: float(c) for m, c in sorted(denominator.items()) if m},
            numerator_constant=float(numerator.get((), 0)),
            denominator_constant=float(denominator.get((), 0)),
        )
    except OverflowError:
        raise FormulaError("multiplies its numbers beyond what a number can hold") from None


def _reduce(node: ast.AST, items: set[str] | frozenset[str], used: set[str]) -> tuple[Poly, Poly]:
    one: Poly = {(): Fraction(1)}
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        if not math.isfinite(node.value) or abs(node.value) > MAX_NUMBER:
            raise FormulaError(
                f"contains the number {node.value!r}; numbers in a formula are finite and "
                "within ±1e15"
            )
        return _clean({(): Fraction(node.value)}), one
    if isinstance(node, ast.Name):
        if node.id not in items:
            known = ", ".join(sorted(items)) or "none"
            raise FormulaError(f"uses {node.id!r}, which is not one of its items ({known})")
        used.add(node.id)
        return {(node.id,): Fraction(1)}, one
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        num, den = _reduce(node.operand, items, used)
        return (_scale(num, -1) if isinstance(node.op, ast.USub) else num), den
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
        left_num, left_den = _reduce(node.left, items, used)
        right_num, right_den = _reduce(node.right, items, used)
        if isinstance(node.op, ast.Sub):
            right_num = _scale(right_num, -1)
        if isinstance(node.op, ast.Add | ast.Sub):
            if left_den == right_den:
                return _add(left_num, right_num), left_den
            return (
                _add(_mul(left_num, right_den), _mul(right_num, left_den)),
                _mul(left_den, right_den),
            )
        if isinstance(node.op, ast.Mult):
            return _mul(left_num, right_num), _mul(left_den, right_den)
        if not right_num:
            raise FormulaError("divides by zero")
        return _mul(left_num, right_den), _mul(left_den, right_num)
    raise FormulaError(f"contains {_describe(node)}, which is not allowed; use {ALLOWED}")


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.BinOp):
        symbols = {ast.Pow: "**", ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@"}
        return f"the operator {symbols.get(type(node.op), type(node.op).__name__)!r}"
    if isinstance(node, ast.Call):
        return "a function call"
    if isinstance(node, ast.Constant):
        return f"the value {node.value!r}"
    words = {
        ast.Attribute: "an attribute access",
        ast.IfExp: "a conditional",
        ast.Compare: "a comparison",
        ast.BoolOp: "'and'/'or'",
        ast.Subscript: "an index",
        ast.Lambda: "a lambda",
    }
    return words.get(type(node), "an expression of another kind")


def _clean(poly: Poly) -> Poly:
    return {m: c for m, c in poly.items() if c != 0}


def _scale(poly: Poly, factor: Fraction | int) -> Poly:
    return _clean({m: c * factor for m, c in poly.items()})


def _add(left: Poly, right: Poly) -> Poly:
    out = dict(left)
    for monomial, coefficient in right.items():
        out[monomial] = out.get(monomial, Fraction(0)) + coefficient
    return _clean(out)


def _mul(left: Poly, right: Poly) -> Poly:
    out: Poly = {}
    for lm, lc in left.items():
        for rm, rc in right.items():
            monomial = tuple(sorted(lm + rm))
            out[monomial] = out.get(monomial, Fraction(0)) + lc * rc
            if len(out) > MAX_TERMS:
                raise FormulaError(
                    f"expands to more than {MAX_TERMS} terms (products of sums of items); a "
                    "formula must reduce to (sum of items) / (sum of items)"
                )
    return _clean(out)


def _normalise(numerator: Poly, denominator: Poly) -> tuple[Poly, Poly]:
    """Fold a constant denominator into the numerator; cancel a common constant factor."""
    if set(denominator) == {()}:
        return _scale(numerator, 1 / denominator[()]), {(): Fraction(1)}
    return numerator, denominator


__all__ = ["ALLOWED", "FormulaError", "Ratio", "compile_formula"]
