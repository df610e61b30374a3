"""New business for a company after its clock moves: created, edited and deleted records.

Feeds incremental-sync tests: every change lands after the previous "now", including
entries back-dated into months that were already closed.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

from qb_pipeline.sandbox.accounting.companies import Company
from qb_pipeline.sandbox.accounting.entities import LIST_ENTITIES
from qb_pipeline.sandbox.generate.transactions import TransactionFactory

# Transactions that nothing links to, so deleting or re-pricing them keeps the books whole.
_UNLINKED = ("Purchase", "Estimate", "SalesReceipt", "PurchaseOrder", "RefundReceipt")


def simulate_activity(
    company: Company, days: int, change_ratio: float = 0.02, seed: int | None = None
) -> dict:
    """Advance `company` by `days` days of business and return what changed."""
    if days < 1:
        raise ValueError("days must be at least 1")
    if not 0 <= change_ratio <= 1:
        raise ValueError("change_ratio must be between 0 and 1")
    with company.lock:
        rng = random.Random(seed if seed is not None else hash((company.realm_id, company.today())))
        before = company.now()
        start = company.today()
        company.advance(days)
        end = company.today()
        factory = TransactionFactory(company, rng)
        factory.not_before = before + timedelta(seconds=1)
        counts_before = {e: len(v) for e, v in company.store.items()}

        volume = float(company.profile.get("volume", 1.0)) * days / 30
        _new_business(factory, rng, start, end, volume)
        backdated = _backdated_entries(factory, rng, start)
        factory.settle_until(end)
        factory.deposit_undeposited(end)

        modified = _modify(company, rng, change_ratio, before)
        deleted = _delete(company, rng, change_ratio, before)
        factory.refresh_balances()
        # The factory writes to the store directly and edits balances in place.
        company.mark_changed()

        created = {
            e: len(v) - counts_before.get(e, 0) - deleted.get(e, 0)
            for e, v in company.store.items()
            if len(v) - counts_before.get(e, 0) + deleted.get(e, 0) > 0 and e not in LIST_ENTITIES
        }
        return {
            "realmId": company.realm_id,
            "from": start.isoformat(),
            "today": end.isoformat(),
            "created": {k: v for k, v in created.items() if v > 0},
            "modified": dict(modified),
            "deleted": dict(deleted),
            "backdated": backdated,
        }


def _new_business(
    factory: TransactionFactory, rng: random.Random, start: date, end: date, volume: float
) -> None:
    span = (end - start).days

    def day() -> date:
        return start + timedelta(days=rng.randint(1, span))

    plan = [(day(), "invoice") for _ in range(factory._count(10 * volume))]
    for kind, per_month in (("sales_receipt", 4), ("bill", 6), ("purchase", 6), ("estimate", 3)):
        plan += [(day(), kind) for _ in range(factory._count(per_month * volume))]
    for when, kind in sorted(plan):
        if kind in ("invoice", "bill"):
            getattr(factory, kind)(when, end)
        else:
            getattr(factory, kind)(when)


def _backdated_entries(factory: TransactionFactory, rng: random.Random, start: date) -> int:
    """Entries dated in a month that closed before `start` (late bills, adjustments)."""
    closed_month_day = (start.replace(day=1) - timedelta(days=1)).replace(day=1) - timedelta(days=1)
    closed_month_day = closed_month_day.replace(day=rng.randint(1, 28))
    factory.bill(closed_month_day, closed_month_day)
    factory.journal_entry(
        closed_month_day,
        [("Debit", "legal_accounting", 425.0), ("Credit", "checking", 425.0)],
        "Late adjustment",
    )
    return 2


def _moment(company: Company, rng: random.Random, before: datetime) -> datetime:
    """A moment after `before` and not after the company's now."""
    span = max(1, int((company.now() - before).total_seconds()) - 1)
    return before + timedelta(seconds=rng.randint(1, span))


def _modify(company: Company, rng: random.Random, ratio: float, before: datetime) -> Counter:
    changed: Counter = Counter()
    cutoff = before.isoformat(timespec="seconds")
    for entity in (*_UNLINKED, "Invoice", "Bill", "Customer", "Vendor", "Item"):
        records = [r for r in company.stored(entity) if r["MetaData"]["CreateTime"] <= cutoff]
        for record in rng.sample(records, k=min(len(records), round(len(records) * ratio))):
            at = _moment(company, rng, before)
            changes: dict = {"PrivateNote": f"Edited {at:%Y-%m-%d}"}
            if entity == "Purchase":
                delta = round(rng.uniform(1, 40), 2)
                first = {
                    **record["Line"][0],
                    "Amount": round(record["Line"][0]["Amount"] + delta, 2),
                }
                changes = {
                    "Line": [first, *record["Line"][1:]],
                    "TotalAmt": round(record["TotalAmt"] + delta, 2),
                }
            elif entity in LIST_ENTITIES:
                changes = {"Notes": f"Reviewed {at:%Y-%m-%d}"}
            company.update(entity, record["Id"], changes, at=at)
            changed[entity] += 1
    return changed


def _delete(company: Company, rng: random.Random, ratio: float, before: datetime) -> Counter:
    deleted: Counter = Counter()
    for entity in ("Purchase", "Estimate", "SalesReceipt"):
        records = company.stored(entity)
        count = max(1, round(len(records) * ratio / 4))
        for record in rng.sample(records, k=min(len(records), count)):
            company.delete(entity, record["Id"], at=_moment(company, rng, before))
            deleted[entity] += 1
    return deleted
