"""Generates business for a company: invoices, bills, payments, journal entries, ...

Used both for the initial history (generator.py) and for new activity requested through
the control API (activity.py), so both produce records of the same shapes. Everything is
drawn from the company's own lists (account roles, items, customers, vendors) and a
seeded random generator, so the same seed always gives the same books.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from qb_pipeline.sandbox.accounting.clock import format_timestamp
from qb_pipeline.sandbox.accounting.companies import Company

TAX_RATE = 0.08
CURRENCY_NAMES = {"USD": "United States Dollar", "EUR": "Euro", "GBP": "British Pound Sterling"}
# Monthly exchange rates to USD move around these values.
BASE_RATES = {"EUR": 1.08, "GBP": 1.27}

# expense roles used on bills and purchases, with typical amounts
BILL_ROLES = (
    ("rent", 2400, 2600),
    ("utilities_power", 180, 420),
    ("utilities_phone", 90, 160),
    ("insurance", 300, 520),
    ("legal_accounting", 250, 900),
    ("legal", 300, 1200),
    ("cogs_materials", 200, 1400),
    ("cogs_plants", 80, 600),
    ("cogs", 150, 1800),
    ("advertising", 100, 900),
)
PURCHASE_ROLES = (
    ("meals", 15, 140),
    ("auto_fuel", 30, 110),
    ("auto", 40, 300),
    ("office", 10, 260),
    ("travel", 120, 900),
    ("advertising", 50, 400),
    ("utilities", 40, 120),
)


def _money(value: float) -> float:
    return round(value + 0.0, 2)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


class TransactionFactory:
    """Adds transactions to a company in QBO's wire shape."""

    def __init__(self, company: Company, rng: random.Random) -> None:
        self.company = company
        self.rng = rng
        self.roles = company.account_roles
        self.profile = company.profile
        self.tz = ZoneInfo(company.timezone)
        self.now = company.now()
        self.profile.setdefault("pending", [])  # [pay_date, kind, txn id, amount]
        self.profile.setdefault("undeposited", [])  # payment ids waiting for a deposit
        self.profile.setdefault("doc_number", 1000)
        self.profile.setdefault("card_spend", 0.0)
        # Records never carry a timestamp before this (activity after a clock move).
        self.not_before: datetime | None = None
        accounts = company.store["Account"]
        self._account_names = {a["Id"]: a["Name"] for a in accounts.values()}

    # -- basics ---------------------------------------------------------------------
    def ref(self, role: str) -> dict:
        account_id = self.roles[role]
        return {"value": account_id, "name": self._account_names[account_id]}

    def _entity_ref(self, entity: str, record_id: str) -> dict:
        record = self.company.store[entity][record_id]
        return {"value": record_id, "name": record.get("DisplayName") or record.get("Name", "")}

    def _doc_number(self) -> str:
        self.profile["doc_number"] += 1
        return str(self.profile["doc_number"])

    def _stamp(self, day: date) -> datetime:
        moment = datetime.combine(
            day,
            time(self.rng.randint(8, 17), self.rng.randint(0, 59), self.rng.randint(0, 59)),
            self.tz,
        )
        if self.not_before is not None:
            moment = max(moment, self.not_before)
        return min(moment, self.now)

    def put(self, entity: str, body: dict, day: date) -> dict:
        """Store a record created on `day`; some are edited again later, as in real books."""
        company = self.company
        created = self._stamp(day)
        updated = created
        sync = "0"
        if self.rng.random() < 0.08:
            updated = min(
                created + timedelta(days=self.rng.randint(1, 40), hours=self.rng.randint(0, 6)),
                self.now,
            )
            sync = str(self.rng.randint(1, 3))
        body["Id"] = company.next_id(entity)
        body["SyncToken"] = sync
        body["domain"] = "QBO"
        body["sparse"] = False
        body["MetaData"] = {
            "CreateTime": format_timestamp(created),
            "LastUpdatedTime": format_timestamp(updated),
        }
        company.store.setdefault(entity, {})[body["Id"]] = body
        return body

    def _currency_fields(self, currency: str, day: date) -> dict:
        fields: dict = {"CurrencyRef": {"value": currency, "name": CURRENCY_NAMES[currency]}}
        if self.profile.get("currencies", ["USD"]) != ["USD"]:
            fields["ExchangeRate"] = self.rate(currency, day)
        return fields

    def rate(self, currency: str, day: date) -> float:
        if currency == "USD":
            return 1
        wobble = ((day.year * 12 + day.month) * 7919 % 100) / 1000 - 0.05
        return round(BASE_RATES[currency] + wobble, 4)

    def _class_ref(self) -> dict | None:
        classes = self.profile.get("classes") or []
        if not classes:
            return None
        class_id = self.rng.choice(classes)
        return {"value": class_id, "name": self.company.store["Class"][class_id]["Name"]}

    def _department_ref(self) -> dict | None:
        departments = self.profile.get("departments") or []
        if not departments:
            return None
        dep_id = self.rng.choice(departments)
        return {"value": dep_id, "name": self.company.store["Department"][dep_id]["Name"]}

    def _count(self, per_month: float) -> int:
        """A count around `per_month`, at least one of everything every month."""
        expected = per_month * (0.8 + 0.4 * self.rng.random())
        whole = int(expected)
        return max(1, whole + (1 if self.rng.random() < expected - whole else 0))

    def _day_in(self, month: date, until: date) -> date:
        last = (next_month(month) - timedelta(days=1)).day
        day = month.replace(day=self.rng.randint(1, last))
        return min(day, until)

    # -- sales ----------------------------------------------------------------------
    def _sales_lines(self, lines: int) -> tuple[list[dict], float, float]:
        items = self.company.store["Item"]
        out, subtotal, taxable = [], 0.0, 0.0
        class_ref = self._class_ref()
        for n in range(lines):
            item = items[self.rng.choice(self.profile["items"])]
            qty = self.rng.randint(1, 6)
            price = float(item["UnitPrice"])
            amount = _money(qty * price)
            detail: dict = {
                "ItemRef": {"value": item["Id"], "name": item["Name"]},
                "UnitPrice": price,
                "Qty": qty,
                "ItemAccountRef": dict(item["IncomeAccountRef"]),
                "TaxCodeRef": {"value": "TAX" if item.get("Taxable") else "NON"},
            }
            if class_ref:
                detail["ClassRef"] = class_ref
            out.append(
                {
                    "Id": str(n + 1),
                    "LineNum": n + 1,
                    "Description": item.get("Description", item["Name"]),
                    "Amount": amount,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": detail,
                }
            )
            subtotal += amount
            if item.get("Taxable"):
                taxable += amount
        out.append(
            {
                "Amount": _money(subtotal),
                "DetailType": "SubTotalLineDetail",
                "SubTotalLineDetail": {},
            }
        )
        return out, _money(subtotal), _money(taxable)

    def _collect_tax(self, tax: float) -> None:
        self.profile["tax_due"] = _money(self.profile.get("tax_due", 0.0) + tax)

    def _customer(self) -> tuple[str, str]:
        customer_id = self.rng.choice(self.profile["customers"])
        currency = self.company.store["Customer"][customer_id]["CurrencyRef"]["value"]
        return customer_id, currency

    def invoice(self, day: date, until: date) -> dict:
        customer_id, currency = self._customer()
        lines, subtotal, taxable = self._sales_lines(self.rng.randint(1, 4))
        tax = _money(taxable * TAX_RATE) if currency == "USD" else 0.0
        self._collect_tax(tax)
        total = _money(subtotal + tax)
        terms = self.rng.choice((15, 30, 30, 60))
        body: dict = {
            "DocNumber": self._doc_number(),
            "TxnDate": day.isoformat(),
            "DueDate": (day + timedelta(days=terms)).isoformat(),
            **self._currency_fields(currency, day),
            "Line": lines,
            "TxnTaxDetail": {"TotalTax": tax},
            "CustomerRef": self._entity_ref("Customer", customer_id),
            "SalesTermRef": {"value": "3"},
            "TotalAmt": total,
            "Balance": total,
            "ApplyTaxAfterDiscount": False,
            "PrintStatus": "NotSet",
            "EmailStatus": "EmailSent",
        }
        department = self._department_ref()
        if department:
            body["DepartmentRef"] = department
        if currency != "USD":
            body["HomeTotalAmt"] = _money(total * body["ExchangeRate"])
            body["HomeBalance"] = body["HomeTotalAmt"]
        record = self.put("Invoice", body, day)
        self._plan_settlement("Invoice", record, day, until)
        return record

    def _plan_settlement(self, kind: str, record: dict, day: date, until: date) -> None:
        draw = self.rng.random()
        if draw < 0.85:
            amount = record["TotalAmt"]
        elif draw < 0.93:
            amount = _money(record["TotalAmt"] * 0.6)
        else:
            return  # stays open (bad debt or simply unpaid)
        pay_day = day + timedelta(days=self.rng.randint(5, 45))
        self.profile["pending"].append([pay_day.isoformat(), kind, record["Id"], amount])

    def settle_until(self, day: date) -> None:
        """Create the payments planned on or before `day`."""
        due, later = [], []
        for item in self.profile["pending"]:
            (due if item[0] <= day.isoformat() else later).append(item)
        self.profile["pending"] = later
        for pay_day, kind, txn_id, amount in sorted(due):
            when = date.fromisoformat(pay_day)
            if kind == "Invoice":
                self.payment(when, txn_id, amount)
            else:
                self.bill_payment(when, txn_id, amount)

    def payment(self, day: date, invoice_id: str, amount: float) -> dict | None:
        invoice = self.company.store.get("Invoice", {}).get(invoice_id)
        if invoice is None or invoice["Balance"] <= 0:
            return None
        amount = min(amount, invoice["Balance"])
        currency = invoice["CurrencyRef"]["value"]
        foreign = currency != "USD"
        body: dict = {
            "CustomerRef": dict(invoice["CustomerRef"]),
            "DepositToAccountRef": self.ref(f"checking_{currency}" if foreign else "undeposited"),
            "ARAccountRef": self.ref(f"ar_{currency}" if foreign else "ar"),
            "TotalAmt": amount,
            "UnappliedAmt": 0,
            "ProcessPayment": False,
            "TxnDate": day.isoformat(),
            "CurrencyRef": dict(invoice["CurrencyRef"]),
            "Line": [
                {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
            ],
        }
        if "ExchangeRate" in invoice:
            # Settled at the invoice's rate: the emulator books no realised FX gains.
            body["ExchangeRate"] = invoice["ExchangeRate"]
        invoice["Balance"] = _money(invoice["Balance"] - amount)
        if "HomeBalance" in invoice:
            invoice["HomeBalance"] = _money(invoice["Balance"] * invoice["ExchangeRate"])
        invoice.setdefault("LinkedTxn", [])
        record = self.put("Payment", body, day)
        invoice["LinkedTxn"].append({"TxnId": record["Id"], "TxnType": "Payment"})
        self._touched_by(invoice, record)
        if not foreign:
            self.profile["undeposited"].append(record["Id"])
        return record

    @staticmethod
    def _touched_by(document: dict, payment: dict) -> None:
        """Applying a payment edits the document it pays (Balance, LinkedTxn): as in QBO,
        its SyncToken and LastUpdatedTime move on, so incremental readers see the change."""
        document["SyncToken"] = str(int(document["SyncToken"]) + 1)
        paid_at = payment["MetaData"]["CreateTime"]
        updated = document["MetaData"]["LastUpdatedTime"]
        if datetime.fromisoformat(paid_at) > datetime.fromisoformat(updated):
            document["MetaData"]["LastUpdatedTime"] = paid_at

    def sales_receipt(self, day: date) -> dict:
        customer_id = self.rng.choice(self.profile["customers"])
        lines, subtotal, taxable = self._sales_lines(self.rng.randint(1, 3))
        tax = _money(taxable * TAX_RATE)
        self._collect_tax(tax)
        body = {
            "DocNumber": self._doc_number(),
            "TxnDate": day.isoformat(),
            **self._currency_fields("USD", day),
            "Line": lines,
            "TxnTaxDetail": {"TotalTax": tax},
            "CustomerRef": self._entity_ref("Customer", customer_id),
            "TotalAmt": _money(subtotal + tax),
            "Balance": 0,
            "PaymentMethodRef": {"value": "1", "name": "Cash"},
            "DepositToAccountRef": self.ref("checking"),
        }
        department = self._department_ref()
        if department:
            body["DepartmentRef"] = department
        return self.put("SalesReceipt", body, day)

    def credit_memo(self, day: date) -> dict:
        customer_id = self.rng.choice(self.profile["customers"])
        lines, subtotal, _ = self._sales_lines(1)
        body = {
            "DocNumber": f"CM{self._doc_number()}",
            "TxnDate": day.isoformat(),
            **self._currency_fields("USD", day),
            "Line": lines,
            "TxnTaxDetail": {"TotalTax": 0},
            "CustomerRef": self._entity_ref("Customer", customer_id),
            "TotalAmt": subtotal,
            "Balance": subtotal,
            "RemainingCredit": subtotal,
        }
        return self.put("CreditMemo", body, day)

    def refund_receipt(self, day: date) -> dict:
        customer_id = self.rng.choice(self.profile["customers"])
        lines, subtotal, _ = self._sales_lines(1)
        body = {
            "DocNumber": f"R{self._doc_number()}",
            "TxnDate": day.isoformat(),
            **self._currency_fields("USD", day),
            "Line": lines,
            "TxnTaxDetail": {"TotalTax": 0},
            "CustomerRef": self._entity_ref("Customer", customer_id),
            "TotalAmt": subtotal,
            "Balance": 0,
            "DepositToAccountRef": self.ref("checking"),
            "PaymentMethodRef": {"value": "2", "name": "Check"},
        }
        return self.put("RefundReceipt", body, day)

    def estimate(self, day: date) -> dict:
        customer_id, currency = self._customer()
        lines, subtotal, _ = self._sales_lines(self.rng.randint(1, 4))
        body = {
            "DocNumber": f"E{self._doc_number()}",
            "TxnDate": day.isoformat(),
            "ExpirationDate": (day + timedelta(days=30)).isoformat(),
            **self._currency_fields(currency, day),
            "Line": lines,
            "TxnTaxDetail": {"TotalTax": 0},
            "CustomerRef": self._entity_ref("Customer", customer_id),
            "TotalAmt": subtotal,
            "TxnStatus": self.rng.choice(("Pending", "Accepted", "Closed", "Rejected")),
        }
        return self.put("Estimate", body, day)

    # -- purchases ------------------------------------------------------------------
    def _expense_lines(self, roles: tuple, count: int) -> tuple[list[dict], float]:
        out, total = [], 0.0
        class_ref = self._class_ref()
        for n in range(count):
            role, low, high = self.rng.choice(roles)
            amount = _money(self.rng.uniform(low, high))
            detail: dict = {
                "AccountRef": self.ref(role),
                "BillableStatus": "NotBillable",
                "TaxCodeRef": {"value": "NON"},
            }
            if class_ref:
                detail["ClassRef"] = class_ref
            out.append(
                {
                    "Id": str(n + 1),
                    "LineNum": n + 1,
                    "Description": self._account_names[self.roles[role]],
                    "Amount": amount,
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": detail,
                }
            )
            total += amount
        return out, _money(total)

    def _vendor(self) -> tuple[str, str]:
        vendor_id = self.rng.choice(self.profile["vendors"])
        return vendor_id, self.company.store["Vendor"][vendor_id]["CurrencyRef"]["value"]

    def bill(self, day: date, until: date) -> dict:
        vendor_id, currency = self._vendor()
        lines, total = self._expense_lines(BILL_ROLES, self.rng.randint(1, 2))
        body: dict = {
            "DocNumber": f"INV-{self.rng.randint(1000, 99999)}",
            "TxnDate": day.isoformat(),
            "DueDate": (day + timedelta(days=30)).isoformat(),
            **self._currency_fields(currency, day),
            "VendorRef": self._entity_ref("Vendor", vendor_id),
            "APAccountRef": self.ref(f"ap_{currency}" if currency != "USD" else "ap"),
            "Line": lines,
            "TotalAmt": total,
            "Balance": total,
            "SalesTermRef": {"value": "3"},
        }
        department = self._department_ref()
        if department:
            body["DepartmentRef"] = department
        record = self.put("Bill", body, day)
        self._plan_settlement("Bill", record, day, until)
        return record

    def bill_payment(self, day: date, bill_id: str, amount: float) -> dict | None:
        bill = self.company.store.get("Bill", {}).get(bill_id)
        if bill is None or bill["Balance"] <= 0:
            return None
        amount = min(amount, bill["Balance"])
        currency = bill["CurrencyRef"]["value"]
        foreign = currency != "USD"
        body: dict = {
            "VendorRef": dict(bill["VendorRef"]),
            "APAccountRef": dict(bill["APAccountRef"]),
            "PayType": "Check",
            "CheckPayment": {
                "BankAccountRef": self.ref(f"checking_{currency}" if foreign else "checking"),
                "PrintStatus": "NotSet",
            },
            "TotalAmt": amount,
            "TxnDate": day.isoformat(),
            "CurrencyRef": dict(bill["CurrencyRef"]),
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": bill_id, "TxnType": "Bill"}]}],
        }
        if "ExchangeRate" in bill:
            body["ExchangeRate"] = bill["ExchangeRate"]
        bill["Balance"] = _money(bill["Balance"] - amount)
        record = self.put("BillPayment", body, day)
        bill.setdefault("LinkedTxn", []).append({"TxnId": record["Id"], "TxnType": "BillPayment"})
        self._touched_by(bill, record)
        return record

    def vendor_credit(self, day: date) -> dict:
        vendor_id = self.rng.choice(self.profile["vendors"])
        lines, total = self._expense_lines(BILL_ROLES[6:], 1)
        body = {
            "DocNumber": f"VC-{self.rng.randint(100, 9999)}",
            "TxnDate": day.isoformat(),
            **self._currency_fields("USD", day),
            "VendorRef": self._entity_ref("Vendor", vendor_id),
            "APAccountRef": self.ref("ap"),
            "Line": lines,
            "TotalAmt": total,
            "Balance": total,
        }
        return self.put("VendorCredit", body, day)

    def purchase(self, day: date) -> dict:
        payment_type = self.rng.choice(("Cash", "Check", "CreditCard", "CreditCard"))
        lines, total = self._expense_lines(PURCHASE_ROLES, self.rng.randint(1, 2))
        vendor_id = self.rng.choice(self.profile["vendors"])
        body: dict = {
            "AccountRef": self.ref("card" if payment_type == "CreditCard" else "checking"),
            "PaymentType": payment_type,
            "EntityRef": {**self._entity_ref("Vendor", vendor_id), "type": "Vendor"},
            "Credit": False,
            "TotalAmt": total,
            "TxnDate": day.isoformat(),
            **self._currency_fields("USD", day),
            "Line": lines,
        }
        if payment_type == "Check":
            body["DocNumber"] = str(self.rng.randint(3000, 9999))
        department = self._department_ref()
        if department:
            body["DepartmentRef"] = department
        if payment_type == "CreditCard":
            self.profile["card_spend"] = _money(self.profile["card_spend"] + total)
        return self.put("Purchase", body, day)

    def purchase_order(self, day: date) -> dict:
        vendor_id = self.rng.choice(self.profile["vendors"])
        items = self.company.store["Item"]
        item = items[self.rng.choice(self.profile["items"])]
        qty = self.rng.randint(5, 40)
        cost = float(item.get("PurchaseCost", 10))
        amount = _money(qty * cost)
        body = {
            "DocNumber": f"PO-{self._doc_number()}",
            "TxnDate": day.isoformat(),
            **self._currency_fields("USD", day),
            "VendorRef": self._entity_ref("Vendor", vendor_id),
            "APAccountRef": self.ref("ap"),
            "POStatus": self.rng.choice(("Open", "Closed")),
            "Line": [
                {
                    "Id": "1",
                    "LineNum": 1,
                    "Amount": amount,
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {
                        "ItemRef": {"value": item["Id"], "name": item["Name"]},
                        "UnitPrice": cost,
                        "Qty": qty,
                        "BillableStatus": "NotBillable",
                        "TaxCodeRef": {"value": "NON"},
                    },
                }
            ],
            "TotalAmt": amount,
        }
        return self.put("PurchaseOrder", body, day)

    # -- journal entries, transfers, deposits -----------------------------------------
    def journal_entry(self, day: date, lines: list[tuple[str, str, float]], note: str) -> dict:
        """`lines`: (Debit|Credit, account role, amount)."""
        class_ref = self._class_ref()
        # Round each line to cents, then let the last line absorb the rounding so the
        # entry balances exactly.
        rounded = [(side, role, _money(amount)) for side, role, amount in lines]
        signed = sum(a if side == "Debit" else -a for side, _, a in rounded[:-1])
        last_side, last_role, _ = rounded[-1]
        rounded[-1] = (last_side, last_role, _money(abs(signed)))
        out = []
        for n, (side, role, amount) in enumerate(rounded):
            detail: dict = {"PostingType": side, "AccountRef": self.ref(role)}
            if class_ref and self.company.store["Account"][self.roles[role]]["Classification"] in (
                "Revenue",
                "Expense",
            ):
                detail["ClassRef"] = class_ref
            out.append(
                {
                    "Id": str(n),
                    "Description": note,
                    "Amount": amount,
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": detail,
                }
            )
        body = {
            "Adjustment": False,
            "DocNumber": f"JE-{self._doc_number()}",
            "TxnDate": day.isoformat(),
            **self._currency_fields("USD", day),
            "PrivateNote": note,
            "Line": out,
            "TxnTaxDetail": {},
        }
        return self.put("JournalEntry", body, day)

    def transfer(self, day: date, from_role: str, to_role: str, amount: float) -> dict:
        body = {
            "FromAccountRef": self.ref(from_role),
            "ToAccountRef": self.ref(to_role),
            "Amount": _money(amount),
            "TxnDate": day.isoformat(),
            **self._currency_fields("USD", day),
        }
        return self.put("Transfer", body, day)

    def deposit_undeposited(self, day: date) -> dict | None:
        """Move the payments waiting in Undeposited Funds to the checking account."""
        payments = self.company.store.get("Payment", {})
        ids = [pid for pid in self.profile["undeposited"] if pid in payments]
        self.profile["undeposited"] = []
        if not ids:
            return None
        lines, total = [], 0.0
        for n, pid in enumerate(ids):
            amount = payments[pid]["TotalAmt"]
            lines.append(
                {
                    "Id": str(n + 1),
                    "LineNum": n + 1,
                    "Amount": amount,
                    "LinkedTxn": [{"TxnId": pid, "TxnType": "Payment", "TxnLineId": "0"}],
                }
            )
            total += amount
        body = {
            "DepositToAccountRef": self.ref("checking"),
            "TotalAmt": _money(total),
            "TxnDate": day.isoformat(),
            **self._currency_fields("USD", day),
            "Line": lines,
        }
        return self.put("Deposit", body, day)

    def interest_deposit(self, day: date, amount: float) -> dict:
        body = {
            "DepositToAccountRef": self.ref("savings"),
            "TotalAmt": _money(amount),
            "TxnDate": day.isoformat(),
            **self._currency_fields("USD", day),
            "Line": [
                {
                    "Id": "1",
                    "LineNum": 1,
                    "Amount": _money(amount),
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": {"AccountRef": self.ref("interest_income")},
                }
            ],
        }
        return self.put("Deposit", body, day)

    # -- calendars --------------------------------------------------------------------
    def opening_balances(self, day: date, _created: datetime) -> None:
        self.journal_entry(
            day,
            [
                ("Debit", "checking", 60000),
                ("Debit", "savings", 25000),
                ("Debit", "fixed_cost", 42000),
                ("Debit", "security_deposit", 5000),
                ("Credit", "loan", 30000),
                ("Credit", "opening_equity", 102000),
            ],
            "Opening balances",
        )

    def month_of_business(
        self, month: date, volume: float, until: date, every_kind: bool = False
    ) -> None:
        """Every kind of transaction, dated within `month` and not after `until`.

        Occasional kinds (credit memos, refunds, vendor credits) appear in some months
        only; `every_kind` forces one of each.
        """
        rng = self.rng
        month_end = min(next_month(month) - timedelta(days=1), until)
        days = []
        for _ in range(self._count(10 * volume)):
            days.append((self._day_in(month, until), "invoice"))
        for kind, per_month in (
            ("sales_receipt", 4),
            ("bill", 6),
            ("purchase", 6),
            ("estimate", 3),
            ("purchase_order", 2),
        ):
            days += [
                (self._day_in(month, until), kind) for _ in range(self._count(per_month * volume))
            ]
        if every_kind or rng.random() < max(0.25, min(1.0, 0.5 * volume)):
            days.append((self._day_in(month, until), "credit_memo"))
        if every_kind or rng.random() < max(0.25, min(1.0, 0.3 * volume)):
            days.append((self._day_in(month, until), "refund_receipt"))
        if every_kind or rng.random() < max(0.25, min(1.0, 0.3 * volume)):
            days.append((self._day_in(month, until), "vendor_credit"))
        days.sort()
        weekly = month
        for day, kind in days:
            while weekly + timedelta(days=7) <= day:
                weekly += timedelta(days=7)
                self.settle_until(weekly)
                self.deposit_undeposited(weekly)
            if kind == "invoice":
                self.invoice(day, until)
            elif kind == "bill":
                self.bill(day, until)
            else:
                getattr(self, kind)(day)
        self.settle_until(month_end)
        self.deposit_undeposited(month_end)
        # Month-end routine: payroll, depreciation, card payment, savings, interest, tax.
        wages = (volume * 2200 + 300) * (0.9 + 0.2 * rng.random())
        self.journal_entry(
            month_end,
            [
                ("Debit", "wages", wages),
                ("Credit", "checking", wages * 0.8),
                ("Credit", "payroll_liabilities", wages * 0.2),
            ],
            "Payroll",
        )
        self.journal_entry(
            month_end,
            [("Debit", "depreciation", 350), ("Credit", "accumulated_depreciation", 350)],
            "Monthly depreciation",
        )
        # Remit the month's sales tax and payroll withholding.
        tax_due = self.profile.get("tax_due", 0.0)
        self.profile["tax_due"] = 0.0
        remit = [("Debit", "payroll_liabilities", wages * 0.2)]
        if tax_due > 0:
            remit.append(("Debit", "sales_tax", tax_due))
        remit.append(("Credit", "checking", wages * 0.2 + tax_due))
        self.journal_entry(month_end, remit, "Tax and payroll remittance")
        if self.profile["card_spend"] > 0:
            self.transfer(month_end, "checking", "card", self.profile["card_spend"])
            self.profile["card_spend"] = 0.0
        self.transfer(month_end, "checking", "savings", 100 + 400 * volume)
        self.interest_deposit(month_end, 12 + 3 * volume * rng.random())

    def settle_open_documents(self, today: date) -> None:
        """Settle what is due by today and refresh customer and vendor balances."""
        self.settle_until(today)
        self.refresh_balances()

    def refresh_balances(self) -> None:
        store = self.company.store
        customers = store.get("Customer", {})
        vendors = store.get("Vendor", {})
        for record in customers.values():
            record["Balance"] = 0.0
        for record in vendors.values():
            record["Balance"] = 0.0
        for invoice in store.get("Invoice", {}).values():
            customer = customers.get(invoice["CustomerRef"]["value"])
            if customer is not None:
                customer["Balance"] = _money(customer["Balance"] + invoice["Balance"])
        for record in customers.values():
            record["BalanceWithJobs"] = record["Balance"]
        for bill in store.get("Bill", {}).values():
            vendor = vendors.get(bill["VendorRef"]["value"])
            if vendor is not None:
                vendor["Balance"] = _money(vendor["Balance"] + bill["Balance"])
