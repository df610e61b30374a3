"""The query language's grammar: tokens to an immutable `Query`, or a 4000/4001 fault.

`parse_query(text)` is memoised: a sync pages through the same statement many times.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NoReturn

from qb_pipeline.sandbox.accounting.entities import (
    canonical_entity,
)
from qb_pipeline.sandbox.accounting.query.errors import QueryError, invalid
from qb_pipeline.sandbox.accounting.query.lexer import Token, line_column, tokenize

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000


@dataclass(frozen=True)
class Literal:
    """A value as written: `kind` is "string", "number" or "bool"; numbers keep their text."""

    kind: str
    value: str | bool


@dataclass(frozen=True)
class Condition:
    """`path op values`; `op` is one of = < > <= >= in like (lower case)."""

    path: tuple[str, ...]
    op: str
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class OrderKey:
    path: tuple[str, ...]
    descending: bool


@dataclass(frozen=True)
class Query:
    """A parsed statement. `fields` is None for `SELECT *` (and for COUNT)."""

    entity: str
    count: bool
    fields: tuple[tuple[str, ...], ...] | None
    where: tuple[Condition, ...]
    order_by: tuple[OrderKey, ...]
    start_position: int
    max_results: int


def words(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


# Words that can never name an entity or a property, so a misplaced one is reported as such.
_RESERVED = words(
    "select from where and or in like order by orderby asc desc startposition maxresults "
    "true false join group having limit offset not is null between union on"
)

# Extra words of explanation for constructs QBO's dialect lacks.
_HINTS = {
    "or": "OR is not supported; combine conditions with AND or use IN (...).",
    "join": "JOIN is not supported; query one entity at a time.",
    "group": "GROUP BY is not supported.",
    "having": "HAVING is not supported.",
    "limit": "Use MAXRESULTS n instead of LIMIT.",
    "offset": "Use STARTPOSITION n (1-based) instead of OFFSET.",
    "not": "NOT is not supported.",
    "is": "Write null as ' ' (for example Prop = ' ').",
    "null": "Write null as ' ' (for example Prop = ' ').",
    "between": "BETWEEN is not supported; use >= and <= joined by AND.",
    "union": "UNION is not supported.",
    ",": "Only one entity can be queried at a time.",
    "!=": "Operators are =, <, >, <=, >=, IN and LIKE.",
    "<>": "Operators are =, <, >, <=, >=, IN and LIKE.",
}

COMPARISONS = ("=", "<", ">", "<=", ">=")


def _describe(token: Token) -> str:
    """A token the way QBO's parser names it in its messages."""
    if token.kind == "eof":
        return '"<EOF>"'
    if token.kind == "word":
        if token.value in _RESERVED:
            return f'" "{token.value}" "{token.text} ""'
        return f'" <IDENTIFIER> "{token.text} ""'
    if token.kind == "string":
        return f'" <STRING> "{token.text} ""'
    if token.kind == "number":
        label = "<DECIMAL>" if "." in token.text else "<INTEGER>"
        return f'" {label} "{token.text} ""'
    return f'" "{token.text}" "{token.text} ""'


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0

    # -- token helpers ------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.value in words

    def at(self, kind: str, text: str) -> bool:
        token = self.peek()
        return token.kind == kind and token.text == text

    def fail(self, expected: str, token: Token | None = None) -> NoReturn:
        token = token or self.peek()
        line, column = line_column(self.text, token.offset)
        hint = _HINTS.get(token.value if token.kind == "word" else token.text, "")
        raise QueryError(
            "4000",
            f"QueryParserError: Encountered {_describe(token)} at line {line}, column {column}."
            f" Was expecting {expected}.{' ' + hint if hint else ''}",
        )

    def expect_word(self, word: str) -> None:
        if not self.at_word(word):
            self.fail(word.upper())
        self.advance()

    def expect(self, kind: str, text: str) -> None:
        if not self.at(kind, text):
            self.fail(f'"{text}"')
        self.advance()

    def name(self, what: str) -> Token:
        token = self.peek()
        if token.kind != "word" or token.value in _RESERVED:
            self.fail(what)
        return self.advance()

    def path(self, what: str = "a property name") -> tuple[str, ...]:
        token = self.name(what)
        segments = tuple(token.text.split("."))
        if not all(segments):
            self.fail("a property name without empty parts", token)
        return segments

    # -- grammar ------------------------------------------------------------------------
    def query(self) -> Query:
        self.expect_word("select")
        count, fields = self.select_list()
        self.expect_word("from")
        entity_token = self.name("an entity name")
        entity = canonical_entity(entity_token.text)
        if entity is None:
            raise invalid(f"invalid context declaration: {entity_token.text}")
        where: tuple[Condition, ...] = ()
        if self.at_word("where"):
            self.advance()
            where = self.conditions()
        order_by: tuple[OrderKey, ...] = ()
        if self.at_word("orderby", "order"):
            order_by = self.order_by()
        start, max_results = self.paging()
        if self.peek().kind != "eof":
            self.fail(self.expected_after(bool(where), bool(order_by)))
        return Query(entity, count, fields, where, order_by, start, max_results)

    def expected_after(self, has_where: bool, has_order: bool) -> str:
        options = ["<EOF>", "STARTPOSITION", "MAXRESULTS"]
        if not has_order:
            options.insert(1, "ORDERBY")
        if has_where and not has_order:
            options.insert(1, "AND")
        if not has_where and not has_order:
            options.insert(1, "WHERE")
        return "one of " + ", ".join(options)

    def select_list(self) -> tuple[bool, tuple[tuple[str, ...], ...] | None]:
        if self.at("punct", "*"):
            self.advance()
            # `SELECT *, Sku` (sent by some libraries) still returns whole records.
            while self.at("punct", ","):
                self.advance()
                self.path()
            return False, None
        if self.at_word("count") and self.peek(1).kind == "punct" and self.peek(1).text == "(":
            self.advance()
            self.advance()
            if not self.at("punct", "*"):
                self.fail('"*" (only COUNT(*) is supported)')
            self.advance()
            self.expect("punct", ")")
            return True, None
        fields = [self.path('"*", COUNT(*) or a property name')]
        while self.at("punct", ","):
            self.advance()
            fields.append(self.path())
        return False, tuple(fields)

    def conditions(self) -> tuple[Condition, ...]:
        conditions = [self.condition()]
        while self.at_word("and"):
            self.advance()
            conditions.append(self.condition())
        return tuple(conditions)

    def condition(self) -> Condition:
        path = self.path()
        token = self.peek()
        if token.kind == "op" and token.text in COMPARISONS:
            self.advance()
            op, values = token.text, (self.value(),)
        elif self.at_word("in"):
            self.advance()
            op, values = "in", self.value_list()
        elif self.at_word("like"):
            self.advance()
            if self.peek().kind != "string":
                self.fail("a quoted pattern after LIKE")
            op, values = "like", (Literal("string", self.advance().value),)
        else:
            self.fail("one of =, <, >, <=, >=, IN, LIKE")
        if len(path) == 1 and path[0].lower() == "id" and op not in ("=", "in"):
            raise invalid(f"Operator {op.upper()} is not supported for property Id; use = or IN.")
        return Condition(path, op, values)

    def value(self) -> Literal:
        token = self.peek()
        if token.kind == "string":
            return Literal("string", self.advance().value)
        if token.kind == "number":
            return Literal("number", self.advance().text)
        if token.kind == "word" and token.value in ("true", "false"):
            return Literal("bool", self.advance().value == "true")
        self.fail("a value ('quoted text', a number, true or false)")

    def value_list(self) -> tuple[Literal, ...]:
        self.expect("punct", "(")
        values = [self.value()]
        while self.at("punct", ","):
            self.advance()
            values.append(self.value())
        self.expect("punct", ")")
        return tuple(values)

    def order_by(self) -> tuple[OrderKey, ...]:
        if self.advance().value == "order":
            self.expect_word("by")
        keys = [self.order_key()]
        while self.at("punct", ","):
            self.advance()
            keys.append(self.order_key())
        return tuple(keys)

    def order_key(self) -> OrderKey:
        path = self.path()
        descending = False
        if self.at_word("asc", "desc"):
            descending = self.advance().value == "desc"
        return OrderKey(path, descending)

    def paging(self) -> tuple[int, int]:
        seen: dict[str, int] = {}
        while self.at_word("startposition", "maxresults") and self.peek().value not in seen:
            keyword = self.advance().value
            token = self.peek()
            if token.kind != "number" or not token.text.isdigit():
                self.fail(f"a whole number after {keyword.upper()}")
            seen[keyword] = int(self.advance().text)
        max_results = seen.get("maxresults", DEFAULT_MAX_RESULTS)
        if max_results > MAX_RESULTS_LIMIT:
            raise invalid(
                f"value {max_results} is too large. Max allowed value is {MAX_RESULTS_LIMIT}"
            )
        if max_results < 1:
            raise invalid(f"value {max_results} is too small. Min allowed value is 1")
        return max(seen.get("startposition", 1), 1), max_results


def parse_query(text: str) -> Query:
    """Parse a QBO query statement; raises QueryError (4000 syntax, 4001 validation)."""
    return _parse_cached(text)


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str) -> Query:
    return _Parser(text, tokenize(text)).query()
