"""The QBO query language: parse a statement, then run it against one company's records.

`parse_query(text)` returns an immutable `Query` or raises `QueryError` carrying QBO's fault
code; `execute_query(query, company)` returns the *contents* of `"QueryResponse"`. Both are
pure backend code (no HTTP); the HTTP layer wraps the result and maps `QueryError` to a fault.

Faults follow bodies recorded from real companies:
- 4000 `Error parsing query`, detail `QueryParserError: Encountered ... at line L, column C.`
  (syntax: missing FROM, bad operator, OR, JOIN, GROUP BY, trailing junk, non-number
  MAXRESULTS) or `QueryParserError: Invalid content. Lexical error at ...` (unterminated
  string, stray characters).
- 4001 `Invalid query`, detail `QueryValidationError: ...`: unknown entity
  (`invalid context declaration: Foo`), unknown property (`Property Foo not found for Entity
  Account`), non-filterable property (`property 'Line' is not queryable`), an operator other
  than `=`/`IN` on `Id`, a value of the wrong type, and MAXRESULTS over 1000 (`value 1500 is
  too large. Max allowed value is 1000`, as QBO answers).

Emulator choices where QBO's behaviour is undocumented:
- Date-time literals compare as instants. A literal without an offset, or a bare date, is read
  in the company's time zone (a bare date is the start of that day there).
- Date properties (`TxnDate`) compare as ISO date text; a date-time literal is cut to its date.
- Text comparisons (`=`, `IN`, `LIKE`, ranges, ORDER BY) ignore case.
- ORDER BY ties, and queries without ORDER BY, come in ascending numeric Id order; records
  lacking the sort property come first in ascending order (last in descending).
- `= ' '` (QBO's spelling of null) matches records that lack the property.
- `STARTPOSITION 0` is read as 1; `MAXRESULTS 0` is a 4001 fault.
- A projection (`SELECT Id, Name`) returns the named top-level properties plus `Id`,
  `SyncToken`, `domain` and `"sparse": true`. `SELECT *, Sku` is read as `SELECT *`.
- `COUNT(*)` ignores STARTPOSITION/MAXRESULTS and answers `{"totalCount": 0}` when nothing
  matches.
- Returned records are shallow copies: top-level keys are the caller's own, nested values
  are shared with the store and must be treated as read-only (the HTTP layer serializes
  them straight away).

Speed: per company and entity a snapshot holds the records in Id order, parsed comparison
columns and sorted orders; it is rebuilt only when `company.version(entity)` (or the size
of the entity's store, or for Account the ledger behind its balances) changes. Range
conditions on the leading ORDER BY property are answered by binary search over the sorted
keys, and filtered match lists are memoised, so paging through a large entity neither
re-sorts nor re-parses.
"""

from __future__ import annotations

import functools
import operator
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.accounting.entities import (
    LIST_ENTITIES,
    TRANSACTION_ENTITIES,
    canonical_entity,
)

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000

_MESSAGES = {
    "4000": "Error parsing query",
    "4001": "Invalid query",
    "4002": "Error processing query",
}


class QueryError(Exception):
    """A query QBO would refuse: `code` 4000 (syntax), 4001 (validation), 4002 (processing)."""

    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.message = _MESSAGES[code]
        self.detail = detail
        self.fault_type = "Service" if code == "4002" else "ValidationFault"
        super().__init__(f"{code} {self.message}: {detail}")


def _invalid(detail: str) -> QueryError:
    return QueryError("4001", f"QueryValidationError: {detail}")


# ---------------------------------------------------------------------------------------
# The parsed statement
# ---------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # word, string, number, op, punct, eof
    text: str  # source text
    value: str  # decoded string / lower-cased word / number text
    offset: int


_LEXEME = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]*)*)"
    r"|(?P<op><=|>=|<>|!=|=|<|>)"
    r"|(?P<punct>[(),*])"
)


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _lexical_error(text: str, offset: int, found: str, after: str, hint: str) -> NoReturn:
    line, column = _line_column(text, offset)
    raise QueryError(
        "4000",
        f"QueryParserError: Invalid content. Lexical error at line {line}, column {column}.  "
        f'Encountered: {found} after : "{after}". {hint}',
    )


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Decode a single-quoted literal starting at `start`; a backslash escapes any character."""
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
        elif ch == "'":
            return "".join(chars), i + 1
        else:
            chars.append(ch)
            i += 1
    _lexical_error(
        text,
        len(text),
        "<EOF>",
        text[start:],
        f"The string starting at column {_line_column(text, start)[1]} is not closed "
        "(write an apostrophe inside a string as \\').",
    )


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        if text[i] == "'":
            value, end = _read_string(text, i)
            tokens.append(_Token("string", text[i:end], value, i))
            i = end
            continue
        match = _LEXEME.match(text, i)
        if match is None:
            ch = text[i]
            _lexical_error(
                text,
                i,
                f'"{ch}" ({ord(ch)})',
                "",
                f"The character {ch!r} cannot appear outside a quoted string.",
            )
        kind = match.lastgroup or ""
        lexeme = match.group()
        if kind != "space":
            value = lexeme.lower() if kind == "word" else lexeme
            tokens.append(_Token(kind, lexeme, value, i))
        i = match.end()
    tokens.append(_Token("eof", "", "", len(text)))
    return tokens


# ---------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------


def _words(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


# Words that can never name an entity or a property, so a misplaced one is reported as such.
_RESERVED = _words(
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

_COMPARISONS = ("=", "<", ">", "<=", ">=")


def _describe(token: _Token) -> str:
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
    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0

    # -- token helpers ------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.value in words

    def at(self, kind: str, text: str) -> bool:
        token = self.peek()
        return token.kind == kind and token.text == text

    def fail(self, expected: str, token: _Token | None = None) -> NoReturn:
        token = token or self.peek()
        line, column = _line_column(self.text, token.offset)
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

    def name(self, what: str) -> _Token:
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
            raise _invalid(f"invalid context declaration: {entity_token.text}")
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
        if token.kind == "op" and token.text in _COMPARISONS:
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
            raise _invalid(f"Operator {op.upper()} is not supported for property Id; use = or IN.")
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
            raise _invalid(
                f"value {max_results} is too large. Max allowed value is {MAX_RESULTS_LIMIT}"
            )
        if max_results < 1:
            raise _invalid(f"value {max_results} is too small. Min allowed value is 1")
        return max(seen.get("startposition", 1), 1), max_results


def parse_query(text: str) -> Query:
    """Parse a QBO query statement; raises QueryError (4000 syntax, 4001 validation)."""
    return _parse_cached(text)


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str) -> Query:
    return _Parser(text, _tokenize(text)).query()


# ---------------------------------------------------------------------------------------
# Known properties (for "Property X not found for Entity Y")
# ---------------------------------------------------------------------------------------


_HEADER = "Id SyncToken MetaData domain sparse"
_METADATA_FIELDS = ("CreateTime", "LastUpdatedTime")
_NAME_LIST = "Name Active FullyQualifiedName ParentRef Description"
_PARTY = (
    "DisplayName CompanyName GivenName MiddleName FamilyName Title Suffix PrintOnCheckName "
    "Active PrimaryPhone Mobile Fax PrimaryEmailAddr WebAddr BillAddr ShipAddr Balance "
    "CurrencyRef TermRef Notes AcctNum"
)
_TXN = (
    "TxnDate DocNumber CurrencyRef ExchangeRate PrivateNote Line TotalAmt HomeTotalAmt "
    "TxnTaxDetail LinkedTxn CustomField DepartmentRef ClassRef TxnSource GlobalTaxCalculation"
)

# Properties the reference documents per entity, known even when no record carries them.
# Anything a stored record carries is known too.
_DOCUMENTED: dict[str, frozenset[str]] = {
    "Account": _words(
        _NAME_LIST,
        "SubAccount Classification AccountType AccountSubType AcctNum CurrentBalance "
        "CurrentBalanceWithSubAccounts CurrencyRef",
    ),
    "Class": _words(_NAME_LIST, "SubClass"),
    "Department": _words(_NAME_LIST, "SubDepartment"),
    "Item": _words(
        _NAME_LIST,
        "SubItem Level Taxable UnitPrice Type IncomeAccountRef PurchaseCost ExpenseAccountRef "
        "AssetAccountRef TrackQtyOnHand QtyOnHand InvStartDate Sku",
    ),
    "Customer": _words(
        _PARTY,
        "Taxable Job BillWithParent ParentRef Level FullyQualifiedName BalanceWithJobs "
        "PreferredDeliveryMethod SalesTermRef PaymentMethodRef",
    ),
    "Vendor": _words(_PARTY, "Vendor1099"),
    "Employee": _words(_PARTY, "EmployeeNumber HiredDate ReleasedDate BillableTime"),
    "Term": _words("Name Active Type DueDays DiscountDays DiscountPercent"),
    "PaymentMethod": _words("Name Active Type"),
    "TaxCode": _words(
        "Name Active Description Taxable TaxGroup SalesTaxRateList PurchaseTaxRateList"
    ),
    "TaxRate": _words("Name Active Description RateValue AgencyRef SpecialTaxType DisplayType"),
    "Budget": _words("Name Active StartDate EndDate BudgetType BudgetEntryType BudgetDetail"),
    "CompanyInfo": _words(
        "CompanyName LegalName CompanyAddr CustomerCommunicationAddr LegalAddr PrimaryPhone "
        "CompanyStartDate FiscalYearStartMonth Country Email WebAddr SupportedLanguages NameValue"
    ),
    "Preferences": _words(
        "AccountingInfoPrefs ProductAndServicesPrefs SalesFormsPrefs VendorAndPurchasesPrefs "
        "TimeTrackingPrefs TaxPrefs CurrencyPrefs ReportPrefs OtherPrefs EmailMessagesPrefs"
    ),
    "Invoice": _words(
        _TXN,
        "CustomerRef DueDate Balance HomeBalance SalesTermRef BillAddr ShipAddr BillEmail "
        "ApplyTaxAfterDiscount PrintStatus EmailStatus Deposit ARAccountRef",
    ),
    "Bill": _words(_TXN, "VendorRef APAccountRef DueDate Balance HomeBalance SalesTermRef"),
    "Purchase": _words(_TXN, "AccountRef PaymentType EntityRef Credit PaymentMethodRef"),
    "JournalEntry": _words(_TXN, "Adjustment"),
    "Deposit": _words(_TXN, "DepositToAccountRef CashBack"),
    "SalesReceipt": _words(
        _TXN,
        "CustomerRef Balance PaymentMethodRef DepositToAccountRef BillAddr ShipAddr PaymentRefNum",
    ),
    "Payment": _words(
        _TXN,
        "CustomerRef DepositToAccountRef ARAccountRef UnappliedAmt ProcessPayment "
        "PaymentMethodRef PaymentRefNum",
    ),
    "BillPayment": _words(_TXN, "VendorRef PayType CheckPayment CreditCardPayment"),
    "CreditMemo": _words(_TXN, "CustomerRef Balance RemainingCredit BillAddr"),
    "RefundReceipt": _words(_TXN, "CustomerRef Balance DepositToAccountRef PaymentMethodRef"),
    "VendorCredit": _words(_TXN, "VendorRef APAccountRef Balance"),
    "Transfer": _words(_TXN, "FromAccountRef ToAccountRef Amount"),
    "Estimate": _words(
        _TXN, "CustomerRef ExpirationDate TxnStatus AcceptedBy AcceptedDate BillAddr ShipAddr"
    ),
    "PurchaseOrder": _words(_TXN, "VendorRef APAccountRef POStatus DueDate ShipAddr"),
}
for _entity in TRANSACTION_ENTITIES:
    _DOCUMENTED.setdefault(_entity, _words(_TXN))


# ---------------------------------------------------------------------------------------
# Columns: one property's values across an entity, parsed once into comparable form
# ---------------------------------------------------------------------------------------

_NO_MATCH = object()  # a literal that equals nothing (e.g. Id = 'abc')
_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def _instant(text: str, tz: ZoneInfo) -> float | None:
    """Seconds since the epoch; text without an offset is read in the company's zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def _raw_values(records: list[dict], path: tuple[str, ...]) -> list:
    """The value at `path` in every record (None where absent); a Ref gives its id."""
    if len(path) == 1:
        key = path[0]
        raw = [record.get(key) for record in records]
    elif len(path) == 2:
        outer, inner = path
        raw = [
            parent.get(inner) if isinstance(parent := record.get(outer), dict) else None
            for record in records
        ]
    else:
        raw = []
        for record in records:
            value: object = record
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            raw.append(value)
    sample = next((value for value in raw if value is not None), None)
    if isinstance(sample, dict) and "value" in sample:
        raw = [value.get("value") if isinstance(value, dict) else value for value in raw]
    return raw


def _kind_of(path: tuple[str, ...], sample: object) -> str:
    if sample is None:
        return "empty"
    if isinstance(sample, bool):
        return "bool"
    if isinstance(sample, int | float):
        return "number"
    if isinstance(sample, dict):
        return "object"
    if isinstance(sample, list):
        return "list"
    text = str(sample)
    if path == ("Id",):
        return "id"
    if _DATETIME_TEXT.match(text):
        return "datetime"
    if _DATE_TEXT.match(text):
        return "date"
    return "text"


def _normalizer(kind: str, tz: ZoneInfo) -> Callable[[object], object]:
    """How a stored value of a column of `kind` becomes a comparable value (None: absent)."""

    parse = datetime.fromisoformat

    def as_datetime(value: object) -> object:
        # Inlined _instant: this runs once per record when a column is built.
        if value.__class__ is not str:
            return None
        try:
            moment = parse(value)  # type: ignore[arg-type]
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        return moment.timestamp()

    def as_number(value: object) -> object:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return value
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None

    def as_bool(value: object) -> object:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return None

    def as_id(value: object) -> object:
        text = str(value) if value is not None else ""
        return int(text) if text.isdigit() else None

    def as_text(value: object) -> object:
        if value is None or isinstance(value, dict | list):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value).casefold()

    return {
        "datetime": as_datetime,
        "number": as_number,
        "bool": as_bool,
        "id": as_id,
    }.get(kind, as_text)


# Sort encodings put absent values below every present one, keeping keys of one type.
_SORT_FLOOR: dict[str, object] = {
    "datetime": float("-inf"),
    "number": float("-inf"),
    "bool": -1,
    "id": -1,
    "date": "",
    "text": "",
    "empty": 0,
}


class _Column:
    def __init__(self, path: tuple[str, ...], records: list[dict], tz: ZoneInfo) -> None:
        raw = _raw_values(records, path)
        sample = next((value for value in raw if value is not None), None)
        self.path = path
        self.kind = _kind_of(path, sample)
        normalize = _normalizer(self.kind, tz)
        self.values: list = list(map(normalize, raw))  # each normalizer maps None to None
        self.has_none = None in self.values
        self._sort_keys: list | None = None

    def sort_keys(self) -> list:
        if self._sort_keys is None:
            floor = _SORT_FLOOR.get(self.kind, 0)
            self._sort_keys = [floor if v is None else v for v in self.values]
        return self._sort_keys

    def literal(self, literal: Literal, tz: ZoneInfo) -> object:
        """A written value in this column's comparable form; 4001 if it cannot be one."""
        kind, value = literal.kind, literal.value
        name = ".".join(self.path)
        if self.kind == "datetime":
            instant = _instant(str(value), tz) if kind == "string" else None
            if instant is None:
                raise _invalid(f"value {value!r} is not a valid date-time for property {name}")
            return instant
        if self.kind == "number":
            if kind == "bool":
                raise _invalid(f"value {value} is not a valid number for property {name}")
            try:
                return float(value)
            except ValueError:
                raise _invalid(
                    f"value {value!r} is not a valid number for property {name}"
                ) from None
        if self.kind == "bool":
            if kind == "bool":
                return value
            if kind == "string" and str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise _invalid(f"value {value!r} is not a valid boolean for property {name}")
        if self.kind == "id":
            text = str(value)
            return int(text) if text.isdigit() else _NO_MATCH
        if kind == "bool":
            return "true" if value else "false"
        text = str(value)
        if self.kind == "date" and _DATETIME_TEXT.match(text):
            text = text[:10]  # a date-time literal against a date property compares its date
        return text.casefold()


# ---------------------------------------------------------------------------------------
# Snapshots: one entity of one company at one version
# ---------------------------------------------------------------------------------------


def _in_id_order(records: list[dict]) -> list[dict]:
    """Records by ascending numeric Id (the store normally has them so: then this is cheap)."""
    ids = [str(record.get("Id", "")) for record in records]
    if all(map(str.isdigit, ids)):
        numbers = list(map(int, ids))
        if numbers == sorted(numbers):
            return list(records)
        return [records[i] for i in sorted(range(len(records)), key=numbers.__getitem__)]
    return sorted(
        records, key=lambda r: (0, int(r["Id"])) if str(r.get("Id", "")).isdigit() else (1, "")
    )


_MATCH_CACHE_SIZE = 32


class _Snapshot:
    def __init__(self, entity: str, version: tuple, records: list[dict], tz: ZoneInfo) -> None:
        self.entity = entity
        self.version = version
        self.ledger: object = None  # for Account: the ledger its balances came from
        self.records = _in_id_order(records)
        self.tz = tz
        self._names: dict[str, str] = {n.lower(): n for n in _HEADER.split()}
        for name in _DOCUMENTED.get(entity, ()):
            self._names.setdefault(name.lower(), name)
        self._scanned = False
        self._paths: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._columns: dict[tuple[str, ...], _Column] = {}
        self._orders: dict[tuple, tuple[list[int], list | None]] = {}
        self._id_index: dict[int, int] | None = None
        self.matches: OrderedDict[tuple, list[int]] = OrderedDict()

    def resolve(self, path: tuple[str, ...]) -> tuple[str, ...]:
        """The stored spelling of a property path written in any case; 4001 if unknown."""
        key = tuple(part.lower() for part in path)
        resolved = self._paths.get(key)
        if resolved is None:
            resolved = self._resolve(path)
            self._paths[key] = resolved
        return resolved

    def _resolve(self, path: tuple[str, ...]) -> tuple[str, ...]:
        head = path[0].lower()
        if head not in self._names and not self._scanned:
            # Sparse records: a property is known if any record of the entity carries it.
            for record in self.records:
                for name in record:
                    self._names.setdefault(name.lower(), name)
            self._scanned = True
        top = self._names.get(head)
        if top is None:
            if not self.records and self.entity not in _DOCUMENTED:
                return path  # nothing to check against; the answer is empty anyway
            raise _invalid(f"Property {'.'.join(path)} not found for Entity {self.entity}")
        resolved = [top]
        for part in path[1:]:
            resolved.append(self._child_name(tuple(resolved), part))
        return tuple(resolved)

    def _child_name(self, parent: tuple[str, ...], part: str) -> str:
        if parent == ("MetaData",):
            for name in _METADATA_FIELDS:
                if name.lower() == part.lower():
                    return name
            raise _invalid(
                f"Property {'.'.join((*parent, part))} not found for Entity {self.entity}"
            )
        for record in self.records:
            value: object = record
            for key in parent:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, dict):
                for name in value:
                    if name.lower() == part.lower():
                        return name
        return part

    def column(self, path: tuple[str, ...]) -> _Column:
        column = self._columns.get(path)
        if column is None:
            column = _Column(path, self.records, self.tz)
            self._columns[path] = column
        return column

    def order(self, spec: tuple[tuple[tuple[str, ...], bool], ...]) -> tuple[list[int], list]:
        """Record positions sorted by `spec` (ties in Id order) and the leading key per row."""
        cached = self._orders.get(spec)
        if cached is None:
            positions = list(range(len(self.records)))
            for path, descending in reversed(spec):
                keys = self.column(path).sort_keys()
                positions.sort(key=keys.__getitem__, reverse=descending)  # stable
            leading = self.column(spec[0][0]).sort_keys()
            cached = (positions, [leading[i] for i in positions])
            self._orders[spec] = cached
        return cached

    def positions_of_ids(self, ids: Sequence[object]) -> list[int]:
        if self._id_index is None:
            values = self.column(("Id",)).values
            self._id_index = {v: i for i, v in enumerate(values) if v is not None}
        found = {self._id_index[i] for i in ids if i in self._id_index}
        return sorted(found)


_CACHE_LOCK = threading.Lock()
_SNAPSHOTS: dict[int, tuple[weakref.ref, dict[str, _Snapshot]]] = {}


def _forget(key: int, ref: weakref.ref) -> None:
    # Runs while a company is collected; plain dict operations only (no lock: the collector
    # may run inside a locked section of this thread).
    entry = _SNAPSHOTS.get(key)
    if entry is not None and entry[0] is ref:
        _SNAPSHOTS.pop(key, None)


def _snapshot(company: Company, entity: str) -> _Snapshot:
    key = id(company)
    with _CACHE_LOCK:
        entry = _SNAPSHOTS.get(key)
        if entry is None or entry[0]() is not company:
            ref = weakref.ref(company, lambda r, key=key: _forget(key, r))
            entry = (ref, {})
            _SNAPSHOTS[key] = entry
    by_entity = entry[1]
    stored = company.store.get(entity, {})
    # The version counter, plus the size and newest key of the store: some writers (the
    # activity generator) add records without bumping the counter.
    version = (company.version(entity), len(stored), next(reversed(stored), None))
    ledger = None
    if entity == "Account":
        # CurrentBalance is derived from the ledger, rebuilt after any transaction change or
        # clock move; records() brings the balances up to date. The snapshot keeps the ledger
        # it saw, so comparing identities cannot be fooled by a recycled id.
        company.records(entity)
        ledger = company.ledger
    snapshot = by_entity.get(entity)
    if snapshot is None or snapshot.version != version or snapshot.ledger is not ledger:
        snapshot = _Snapshot(entity, version, company.records(entity), company.tz)
        snapshot.ledger = ledger
        by_entity[entity] = snapshot
    return snapshot


# ---------------------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Predicate:
    column: _Column
    op: str
    operand: object  # comparable value, frozenset for IN, compiled regex for LIKE
    signature: tuple

    def test(self) -> Callable[[object], bool]:
        x = self.operand
        op = self.op
        if op == "null":
            return lambda v: v is None
        if op == "=":
            return lambda v: v == x  # x is never None, so absent values never match
        if op == "in":
            return lambda v: v in x  # type: ignore[operator]
        if op == "like":
            return lambda v: v is not None and x.fullmatch(v) is not None  # type: ignore[union-attr]
        if op == "active":
            return lambda v: v is not False
        compare = {
            "<": lambda v: v < x,
            ">": lambda v: v > x,
            "<=": lambda v: v <= x,
            ">=": lambda v: v >= x,
        }[op]
        return lambda v: v is not None and compare(v)


def _like_pattern(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(part) for part in pattern.casefold().split("%"))
    return re.compile(".*".join(parts), re.DOTALL)


def _predicate(condition: Condition, snapshot: _Snapshot) -> _Predicate:
    path = snapshot.resolve(condition.path)
    column = snapshot.column(path)
    if column.kind in ("object", "list"):
        raise _invalid(f"property '{'.'.join(path)}' is not queryable")
    values = condition.values
    if condition.op == "=" and values[0] == Literal("string", " "):
        return _Predicate(column, "null", None, (path, "null"))
    if column.kind == "empty":
        # No record carries the property: nothing matches, whatever the value's type.
        return _Predicate(column, "in", frozenset(), (path, "in", ()))
    if condition.op == "like":
        if column.kind not in ("text", "date", "empty"):
            raise _invalid(f"LIKE is only supported on text properties, not {'.'.join(path)}")
        pattern = str(values[0].value)
        return _Predicate(column, "like", _like_pattern(pattern), (path, "like", pattern))
    operands = [column.literal(value, snapshot.tz) for value in values]
    if condition.op == "in":
        members = frozenset(x for x in operands if x is not _NO_MATCH)
        return _Predicate(column, "in", members, (path, "in", tuple(sorted(members, key=repr))))
    operand = operands[0]
    if operand is _NO_MATCH:
        return _Predicate(column, "in", frozenset(), (path, "in", ()))
    return _Predicate(column, condition.op, operand, (path, condition.op, operand))


def _is_tautology(predicate: _Predicate) -> bool:
    """`Active IN (true, false)`: the pipeline's way of asking for inactive rows too."""
    return (
        predicate.op == "in"
        and predicate.column.kind == "bool"
        and predicate.operand == frozenset({True, False})
        and not predicate.column.has_none
    )


def _partition_point(
    keys: list, lo: int, hi: int, before: Callable[[object, object], bool], x: object
) -> int:
    """First index in [lo, hi) where `before(key, x)` stops holding (it holds on a prefix)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if before(keys[mid], x):
            lo = mid + 1
        else:
            hi = mid
    return lo


# For each operator, which keys lie below (lower bound) or within (upper bound) the window,
# in ascending and in descending key order.
_LOWER = {
    False: {"=": operator.lt, ">=": operator.lt, ">": operator.le},
    True: {"=": operator.gt, "<=": operator.gt, "<": operator.ge},
}
_UPPER = {
    False: {"=": operator.le, "<=": operator.le, "<": operator.lt},
    True: {"=": operator.ge, ">=": operator.ge, ">": operator.gt},
}


def _narrow(keys: list, lo: int, hi: int, op: str, x: object, descending: bool) -> tuple[int, int]:
    """Shrink [lo, hi) of sorted `keys` to the rows where `key op x` holds."""
    lower = _LOWER[descending].get(op)
    if lower is not None:
        lo = _partition_point(keys, lo, hi, lower, x)
    upper = _UPPER[descending].get(op)
    if upper is not None:
        hi = _partition_point(keys, lo, hi, upper, x)
    return lo, hi


def _project(record: dict, keep: frozenset[str] | None) -> dict:
    if keep is None:
        return dict(record)
    projected = {key: value for key, value in record.items() if key in keep}
    projected["sparse"] = True
    return projected


def _matching_positions(query: Query, snapshot: _Snapshot) -> tuple[Sequence[int], int, int]:
    """Positions (into snapshot.records) of matching records in result order, as a sequence
    plus the [lo, hi) window of it that holds the matches."""
    predicates = [_predicate(condition, snapshot) for condition in query.where]
    if query.entity in LIST_ENTITIES and not any(p.column.path == ("Active",) for p in predicates):
        active = snapshot.column(("Active",))
        predicates.append(_Predicate(active, "active", None, (("Active",), "active")))
    predicates = [p for p in predicates if not _is_tautology(p)]

    spec = tuple((snapshot.resolve(key.path), key.descending) for key in query.order_by)
    for path, _ in spec:
        if snapshot.column(path).kind in ("object", "list"):
            raise _invalid(f"property '{'.'.join(path)}' is not sortable")
    spec = spec or ((("Id",), False),)

    # Lookups by Id touch only the named records.
    by_id = next((p for p in predicates if p.column.path == ("Id",) and p.op in ("=", "in")), None)
    if by_id is not None:
        ids = [by_id.operand] if by_id.op == "=" else list(by_id.operand)  # type: ignore[arg-type]
        candidates = snapshot.positions_of_ids(ids)
        rest = [(p.column.values, p.test()) for p in predicates if p is not by_id]
        found = [i for i in candidates if all(test(col[i]) for col, test in rest)]
        for path, descending in reversed(spec):
            keys = snapshot.column(path).sort_keys()
            found.sort(key=keys.__getitem__, reverse=descending)
        return found, 0, len(found)

    positions, leading = snapshot.order(spec)
    lo, hi = 0, len(positions)
    lead_path, descending = spec[0]
    residual = []
    for p in predicates:
        if p.column.path == lead_path and p.op in _COMPARISONS:
            lo, hi = _narrow(leading, lo, hi, p.op, p.operand, descending)
            if not p.column.has_none:
                continue  # the window alone guarantees the condition
        residual.append(p)
    if not residual:
        return positions, lo, hi

    cache_key = (spec, lo, hi, tuple(p.signature for p in residual))
    found = snapshot.matches.get(cache_key)
    if found is None:
        tests = [(p.column.values, p.test()) for p in residual]
        window = positions[lo:hi]
        if len(tests) == 1:
            col, test = tests[0]
            found = [i for i in window if test(col[i])]
        else:
            found = [i for i in window if all(test(col[i]) for col, test in tests)]
        snapshot.matches[cache_key] = found
        if len(snapshot.matches) > _MATCH_CACHE_SIZE:
            snapshot.matches.popitem(last=False)
    else:
        snapshot.matches.move_to_end(cache_key)
    return found, 0, len(found)


def execute_query(query: Query, company: Company) -> dict:
    """Run a parsed query; returns the contents of "QueryResponse" (may raise QueryError)."""
    with company.lock:
        snapshot = _snapshot(company, query.entity)
        keep = None
        if query.fields is not None:
            names = {snapshot.resolve(path)[0] for path in query.fields}
            keep = frozenset(names | {"Id", "SyncToken", "domain", "sparse"})
        positions, lo, hi = _matching_positions(query, snapshot)
        if query.count:
            return {"totalCount": hi - lo}
        first = lo + query.start_position - 1
        page = positions[first : min(hi, first + query.max_results)] if first < hi else []
        if not page:
            return {}
        records = snapshot.records
        rows = [_project(records[i], keep) for i in page]
    return {query.entity: rows, "startPosition": query.start_position, "maxResults": len(rows)}
