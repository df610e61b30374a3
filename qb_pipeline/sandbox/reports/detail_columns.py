"""The columns of detail reports (GeneralLedger, ProfitAndLossDetail, TransactionList).

`columns=` names them with Intuit's column keys, comma-separated, in the order they should
appear; without it each report has its default columns. Every key Intuit documents for
these reports is served (and those widely used clients send, such as the `_nt` net-of-tax
variants); a key that is not one of them is refused with a 2010 fault that names it, rather
than dropped, so a typo cannot quietly change the report. Columns carry `ColType` plus a
`MetaData` ColKey, the modern form.

What the cells hold, where the emulator has to choose:
- Amounts are in the home currency (the ledger's), so `subt_nat_amount` and
  `subt_nat_home_amount` agree; `currency` and `exch_rate` are the transaction's own.
- Sales tax: the tax posting's row is all tax; the header row (A/R, the deposit account) of a
  taxed sale carries the transaction's tax; `net_amount` and the `_nt` columns are the amount
  less that tax, `tax_amount` the tax ("" where a row carries none).
- `nat_open_bal` is the transaction's open balance now (Invoice and Bill `Balance`).
- `is_cleared` is "" (uncleared): the emulator does not model bank reconciliation.
- Records do not say who made them: `create_by` and `last_mod_by` name the emulator's
  bookkeeper; `create_date`/`last_mod_date` are the record's MetaData times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.accounting.ledger import Posting, to_cents
from qb_pipeline.sandbox.reports.detail_lines import Line, Lookup, party, split
from qb_pipeline.sandbox.reports.request import ReportRequest, invalid_parameter
from qb_pipeline.sandbox.reports.rows import blank_cells, cell, money

BOOKKEEPER = "Emulator Bookkeeper"
SALES_TYPES = frozenset({"Invoice", "SalesReceipt", "CreditMemo", "RefundReceipt"})
PRINT_LABELS = {"NeedToPrint": "To be printed", "PrintComplete": "Printed"}

# key: (title, ColType)
COLUMN_CATALOG: dict[str, tuple[str, str]] = {
    "tx_date": ("Date", "Date"),
    "txn_type": ("Transaction Type", "String"),
    "doc_num": ("Num", "String"),
    "is_no_post": ("Posting", "Boolean"),
    "is_adj": ("Adj", "Boolean"),
    "create_date": ("Create Date", "DateTime"),
    "create_by": ("Created By", "String"),
    "last_mod_date": ("Last Modified", "DateTime"),
    "last_mod_by": ("Last Modified By", "String"),
    "name": ("Name", "String"),
    "cust_name": ("Customer", "String"),
    "vend_name": ("Vendor", "String"),
    "emp_name": ("Employee", "String"),
    "item_name": ("Product/Service", "String"),
    "klass_name": ("Class", "String"),
    "dept_name": ("Location", "String"),
    "memo": ("Memo/Description", "String"),
    "account_name": ("Account", "String"),
    "account_num": ("Account #", "String"),
    "split_acc": ("Split", "String"),
    "other_account": ("Split", "String"),
    "pmt_mthd": ("Payment Method", "String"),
    "term_name": ("Terms", "String"),
    "due_date": ("Due Date", "Date"),
    "inv_date": ("Invoice Date", "Date"),
    "cust_msg": ("Customer Message", "String"),
    "printed": ("Print", "String"),
    "is_ap_paid": ("A/P Paid", "String"),
    "is_cleared": ("Clr", "String"),
    "tracking_num": ("Tracking No.", "String"),
    "ship_via": ("Ship Via", "String"),
    "sales_cust1": ("Sales Cust1", "String"),
    "sales_cust2": ("Sales Cust2", "String"),
    "sales_cust3": ("Sales Cust3", "String"),
    "quantity": ("Qty", "Number"),
    "rate": ("Rate", "Number"),
    "tax_code": ("Tax Code", "String"),
    "currency": ("Currency", "String"),
    "exch_rate": ("Exchange Rate", "Number"),
    "debt_amt": ("Debit", "Money"),
    "credit_amt": ("Credit", "Money"),
    "debt_home_amt": ("Debit (home currency)", "Money"),
    "credit_home_amt": ("Credit (home currency)", "Money"),
    "subt_nat_amount": ("Amount", "Money"),
    "subt_nat_home_amount": ("Amount (home currency)", "Money"),
    "subt_nat_amount_nt": ("Amount (net of tax)", "Money"),
    "subt_nat_amount_home_nt": ("Amount (net of tax, home currency)", "Money"),
    "net_amount": ("Net Amount", "Money"),
    "home_net_amount": ("Net Amount (home currency)", "Money"),
    "tax_amount": ("Tax Amount", "Money"),
    "home_tax_amount": ("Tax Amount (home currency)", "Money"),
    "rbal_nat_amount": ("Balance", "Money"),
    "rbal_nat_home_amount": ("Balance (home currency)", "Money"),
    "rbal_nat_amount_nt": ("Balance (net of tax)", "Money"),
    "rbal_nat_amount_home_nt": ("Balance (net of tax, home currency)", "Money"),
    "nat_open_bal": ("Open Balance", "Money"),
    "nat_home_open_bal": ("Open Balance (home currency)", "Money"),
    "nat_foreign_open_bal": ("Foreign Open Balance", "Money"),
}
LEDGER_COLUMNS = (
    "tx_date", "txn_type", "doc_num", "name", "memo", "split_acc", "subt_nat_amount",
    "rbal_nat_amount",
)  # fmt: skip
LIST_COLUMNS = (
    "tx_date", "txn_type", "doc_num", "is_no_post", "name", "dept_name", "memo", "account_name",
    "other_account", "subt_nat_amount",
)  # fmt: skip
# Where a total line puts its amount, and where a Beginning Balance row puts the opening.
AMOUNT_KEYS = frozenset({"subt_nat_amount", "subt_nat_home_amount"})
BALANCE_KEYS = frozenset({"rbal_nat_amount", "rbal_nat_home_amount"})
NET_BALANCE_KEYS = frozenset({"rbal_nat_amount_nt", "rbal_nat_amount_home_nt"})

CellMaker = Callable[[Line, Posting, Lookup], dict]


# --- cells from the transaction's record -----------------------------------------------------
def _record(line: Line, p: Posting, lookup: Lookup) -> dict:
    return lookup.record(p.txn_type, p.txn_id)


def _text(value: object) -> dict:
    return cell("" if value is None else str(value))


def _number(value: object) -> dict:
    if value is None or isinstance(value, bool):
        return cell("")
    number = float(value)  # type: ignore[arg-type]
    return cell(str(int(number)) if number.is_integer() else repr(number))


def _meta(field: str) -> CellMaker:
    return lambda line, p, lookup: _text(_record(line, p, lookup).get("MetaData", {}).get(field))


def _field(field: str) -> CellMaker:
    return lambda line, p, lookup: _text(_record(line, p, lookup).get(field))


def _custom_field(position: int) -> CellMaker:
    def make(line: Line, p: Posting, lookup: Lookup) -> dict:
        fields = _record(line, p, lookup).get("CustomField") or []
        return _text(fields[position].get("StringValue") if len(fields) > position else None)

    return make


def _list_ref(entity: str, field: str) -> CellMaker:
    def make(line: Line, p: Posting, lookup: Lookup) -> dict:
        ref = _record(line, p, lookup).get(field)
        return cell(lookup.list_name(entity, ref), (ref or {}).get("value") or "")

    return make


def _line_field(field: str) -> CellMaker:
    return lambda line, p, lookup: _number(lookup.line_detail(p).get(field))


def _item(line: Line, p: Posting, lookup: Lookup) -> dict:
    ref = lookup.line_detail(p).get("ItemRef") or {}
    if not ref.get("value"):
        return cell("", "")
    return cell(lookup.list_name("Item", ref), ref["value"])


def _tax_code(line: Line, p: Posting, lookup: Lookup) -> dict:
    return _text((lookup.line_detail(p).get("TaxCodeRef") or {}).get("value"))


def _currency(line: Line, p: Posting, lookup: Lookup) -> dict:
    ref = _record(line, p, lookup).get("CurrencyRef") or {}
    return _text(ref.get("value") or lookup.company.home_currency)


def _exchange_rate(line: Line, p: Posting, lookup: Lookup) -> dict:
    return _number(_record(line, p, lookup).get("ExchangeRate") or 1)


def _adjustment(line: Line, p: Posting, lookup: Lookup) -> dict:
    if p.txn_type != "JournalEntry":
        return cell("No")
    return cell("Yes" if _record(line, p, lookup).get("Adjustment") else "No")


def _invoice_date(line: Line, p: Posting, lookup: Lookup) -> dict:
    return cell(p.txn_date.isoformat() if p.txn_type == "Invoice" else "")


def _printed(line: Line, p: Posting, lookup: Lookup) -> dict:
    return cell(PRINT_LABELS.get(_record(line, p, lookup).get("PrintStatus", ""), ""))


def _ap_paid(line: Line, p: Posting, lookup: Lookup) -> dict:
    if p.txn_type != "Bill":
        return cell("")
    return cell("Paid" if not _record(line, p, lookup).get("Balance") else "Unpaid")


def _open_balance(foreign: bool) -> CellMaker:
    def make(line: Line, p: Posting, lookup: Lookup) -> dict:
        record = _record(line, p, lookup)
        if "Balance" not in record or p.txn_type not in ("Invoice", "Bill"):
            return cell("")
        rate = None if foreign else record.get("ExchangeRate")
        return cell(money(to_cents(record["Balance"], rate)))

    return make


# --- sales tax -----------------------------------------------------------------------------
def row_tax(line: Line, lookup: Lookup) -> int | None:
    """The sales tax included in a row's amount (natural sign), None when it carries none."""
    p = line.group[line.index]
    if p.txn_type not in SALES_TYPES:
        return None
    if p.line_id is None and p.account_id == lookup.company.sales_tax_account_id:
        return line.amount
    if line.index != line.header:
        return None
    record = lookup.record(p.txn_type, p.txn_id)
    total_tax = (record.get("TxnTaxDetail") or {}).get("TotalTax")
    if not total_tax:
        return None
    tax = to_cents(total_tax, record.get("ExchangeRate"))
    return tax if line.amount >= 0 else -tax


def _tax(line: Line, p: Posting, lookup: Lookup) -> dict:
    return cell(money(row_tax(line, lookup)))


def _net(line: Line, p: Posting, lookup: Lookup) -> dict:
    return cell(money(line.amount - (row_tax(line, lookup) or 0)))


# --- names, accounts and amounts -------------------------------------------------------------
def _name_cell(wanted: str | None) -> CellMaker:
    def make(line: Line, p: Posting, lookup: Lookup) -> dict:
        name_type, name_id = party(line.group)
        if wanted and (name_type or "").lower() != wanted:
            return cell("", "")
        return cell(lookup.party(name_type, name_id), name_id or "")

    return make


def _account_number(line: Line, p: Posting, lookup: Lookup) -> dict:
    account = lookup.chart.by_id.get(p.account_id)
    return cell(account.number if account else "")


def _dimension(entity: str, attribute: str) -> CellMaker:
    def make(line: Line, p: Posting, lookup: Lookup) -> dict:
        record_id = getattr(p, attribute)
        return cell(lookup.dimension(entity, record_id), record_id)

    return make


# One maker per column key, so a row is a list comprehension over the chosen keys.
CELL_MAKERS: dict[str, CellMaker] = {
    "tx_date": lambda line, p, lookup: cell(p.txn_date.isoformat()),
    "txn_type": lambda line, p, lookup: cell(lookup.txn_label(p.txn_type, p.txn_id), p.txn_id),
    "doc_num": lambda line, p, lookup: cell(p.doc_number or ""),
    "is_no_post": lambda line, p, lookup: cell("Yes"),
    "is_adj": _adjustment,
    "create_date": _meta("CreateTime"),
    "create_by": lambda line, p, lookup: cell(BOOKKEEPER),
    "last_mod_date": _meta("LastUpdatedTime"),
    "last_mod_by": lambda line, p, lookup: cell(BOOKKEEPER),
    "name": _name_cell(None),
    "cust_name": _name_cell("customer"),
    "vend_name": _name_cell("vendor"),
    "emp_name": _name_cell("employee"),
    "item_name": _item,
    "klass_name": _dimension("Class", "class_id"),
    "dept_name": _dimension("Department", "department_id"),
    "memo": lambda line, p, lookup: cell(p.memo or ""),
    "account_name": lambda line, p, lookup: lookup.account_cell(p.account_id),
    "account_num": _account_number,
    "split_acc": lambda line, p, lookup: split(line, lookup),
    "other_account": lambda line, p, lookup: split(line, lookup),
    "pmt_mthd": _list_ref("PaymentMethod", "PaymentMethodRef"),
    "term_name": _list_ref("Term", "SalesTermRef"),
    "due_date": _field("DueDate"),
    "inv_date": _invoice_date,
    "cust_msg": lambda line, p, lookup: _text(
        (_record(line, p, lookup).get("CustomerMemo") or {}).get("value")
    ),
    "printed": _printed,
    "is_ap_paid": _ap_paid,
    "is_cleared": lambda line, p, lookup: cell(""),
    "tracking_num": _field("TrackingNum"),
    "ship_via": lambda line, p, lookup: _text(
        (_record(line, p, lookup).get("ShipMethodRef") or {}).get("value")
    ),
    "sales_cust1": _custom_field(0),
    "sales_cust2": _custom_field(1),
    "sales_cust3": _custom_field(2),
    "quantity": _line_field("Qty"),
    "rate": _line_field("UnitPrice"),
    "tax_code": _tax_code,
    "currency": _currency,
    "exch_rate": _exchange_rate,
    "debt_amt": lambda line, p, lookup: cell(money(p.amount) if p.amount > 0 else ""),
    "credit_amt": lambda line, p, lookup: cell(money(-p.amount) if p.amount < 0 else ""),
    "subt_nat_amount": lambda line, p, lookup: cell(money(line.amount)),
    "subt_nat_amount_nt": _net,
    "net_amount": _net,
    "tax_amount": _tax,
    "rbal_nat_amount": lambda line, p, lookup: cell(money(line.balance)),
    "rbal_nat_amount_nt": lambda line, p, lookup: cell(money(line.net_balance)),
    "nat_open_bal": _open_balance(foreign=False),
    "nat_foreign_open_bal": _open_balance(foreign=True),
}
# Amounts are in the home currency already: the home-currency columns show the same.
for _home, _same in (
    ("debt_home_amt", "debt_amt"),
    ("credit_home_amt", "credit_amt"),
    ("subt_nat_home_amount", "subt_nat_amount"),
    ("subt_nat_amount_home_nt", "subt_nat_amount_nt"),
    ("home_net_amount", "net_amount"),
    ("home_tax_amount", "tax_amount"),
    ("rbal_nat_home_amount", "rbal_nat_amount"),
    ("rbal_nat_amount_home_nt", "rbal_nat_amount_nt"),
    ("nat_home_open_bal", "nat_open_bal"),
):
    CELL_MAKERS[_home] = CELL_MAKERS[_same]
assert set(CELL_MAKERS) == set(COLUMN_CATALOG), set(COLUMN_CATALOG) ^ set(CELL_MAKERS)


def row_cells(makers: Sequence[CellMaker], line: Line, lookup: Lookup) -> list[dict]:
    p = line.group[line.index]
    return [make(line, p, lookup) for make in makers]


# --- the layout of one report ------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    keys: tuple[str, ...]
    columns: list[dict]

    @property
    def width(self) -> int:
        return len(self.keys)

    @property
    def makers(self) -> list[CellMaker]:
        return [CELL_MAKERS[key] for key in self.keys]

    @property
    def tracks_net_balance(self) -> bool:
        return not NET_BALANCE_KEYS.isdisjoint(self.keys)

    def summary(self, label: str, amount: int | None) -> list[dict]:
        """A total line: the label, then the amount under Amount, blanks elsewhere."""
        cells = blank_cells(label, self.width)
        for i, key in enumerate(self.keys):
            if i and key in AMOUNT_KEYS:
                cells[i] = cell(money(amount))
        return cells

    def opening(self, amount: int) -> list[dict]:
        """The "Beginning Balance" row: the opening balance under the Balance columns."""
        cells = blank_cells("Beginning Balance", self.width)
        for i, key in enumerate(self.keys):
            if i and (key in BALANCE_KEYS or key in NET_BALANCE_KEYS):
                cells[i] = cell(money(amount))
        return cells

    def header(self, label: str, id_: str | None = None) -> list[dict]:
        return blank_cells(label, self.width, id_)


def requested_columns(request: ReportRequest) -> tuple[str, ...] | None:
    """The `columns=` keys, or None for the defaults; a 2010 fault names an unknown key."""
    if request.columns is None:
        return None
    unknown = [key for key in request.columns if key not in COLUMN_CATALOG]
    if unknown:
        raise invalid_parameter(
            "columns",
            unknown[0],
            f"{request.name} has no column with that key; its column keys are "
            f"{', '.join(COLUMN_CATALOG)}.",
        )
    return request.columns


def detail_layout(company: Company, request: ReportRequest, defaults: tuple[str, ...]) -> Layout:
    keys = requested_columns(request) or defaults
    if keys is LIST_COLUMNS and not _tracks_departments(company):
        keys = tuple(k for k in keys if k != "dept_name")
    terminology = accounting_prefs(company).get("DepartmentTerminology") or "Location"
    columns = []
    for key in keys:
        title, col_type = COLUMN_CATALOG[key]
        if key == "dept_name":
            title = terminology
        columns.append(
            {"ColTitle": title, "ColType": col_type, "MetaData": [{"Name": "ColKey", "Value": key}]}
        )
    return Layout(keys, columns)


def accounting_prefs(company: Company) -> dict:
    prefs = company.records("Preferences")
    return (prefs[0].get("AccountingInfoPrefs") or {}) if prefs else {}


def _tracks_departments(company: Company) -> bool:
    return bool(accounting_prefs(company).get("TrackDepartments"))
