"""Per-account sums of ledger postings between cut dates, computed in one pass.

A report asks for the dates it needs (column ends, the day before a column or fiscal year
starts); `Slices` sums each segment between consecutive cuts once, by walking
`Ledger.postings_between`, and keeps running totals so any window (after, through] is a
subtraction instead of another pass. Accounts are "present" in a window when at least one
posting falls in it, which lets reports tell "no activity" ("") from a zero balance.

With `bucket_of`, sums are also split by a dimension (class or department id, "" for
postings without one), for reports summarized by Classes or Departments.
"""

from __future__ import annotations

import threading
import weakref
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from operator import attrgetter

from qb_pipeline.sandbox.accounting.ledger import Ledger, Posting
from qb_pipeline.sandbox.reports.periods import ONE_DAY

ALL = "*"  # the bucket holding every posting

Keep = Callable[[Posting], bool]
BucketOf = Callable[[Posting], str]
_ACCOUNT_AND_AMOUNT = attrgetter("account_id", "amount")


def _sum(postings: Sequence[Posting], keep: Keep | None, bucket_of: BucketOf | None) -> dict:
    """{bucket: {account id: cents}} for `postings`; the hot loop of every summary report."""
    if bucket_of is None:
        totals: dict[str, int] = {}
        get = totals.get
        rows = postings if keep is None else filter(keep, postings)
        for account_id, amount in map(_ACCOUNT_AND_AMOUNT, rows):
            totals[account_id] = get(account_id, 0) + amount
        return {ALL: totals}
    out: dict[str, dict[str, int]] = {}
    merged: dict[str, int] = {}
    for p in postings if keep is None else filter(keep, postings):
        bucket = out.get(key := bucket_of(p))
        if bucket is None:
            bucket = out[key] = {}
        bucket[p.account_id] = bucket.get(p.account_id, 0) + p.amount
        merged[p.account_id] = merged.get(p.account_id, 0) + p.amount
    out[ALL] = merged
    return out


class AccountIndex:
    """Per account, the ordinal dates of its postings and the running sums of their amounts.

    Built once per ledger and basis (one pass), it answers "sum and count of an account's
    postings up to a date" with a binary search, so unfiltered reports cost the same however
    many postings the company has. (Walking the postings instead is dominated by memory
    access: date-sorted postings are scattered in memory.)
    """

    def __init__(self, postings: Sequence[Posting]) -> None:
        dates: dict[str, array] = {}
        sums: dict[str, array] = {}
        for p in postings:
            account_dates = dates.get(p.account_id)
            if account_dates is None:
                account_dates = dates[p.account_id] = array("l")
                sums[p.account_id] = array("q", [0])
            account_sums = sums[p.account_id]
            account_dates.append(p.txn_date.toordinal())
            account_sums.append(account_sums[-1] + p.amount)
        self._dates = dates
        self._sums = sums

    def upto(self, day: date) -> tuple[dict[str, int], dict[str, int]]:
        """(sums, posting counts) of every account with postings on or before `day`."""
        ordinal = day.toordinal()
        totals: dict[str, int] = {}
        counts: dict[str, int] = {}
        for account_id, account_dates in self._dates.items():
            n = bisect_right(account_dates, ordinal)
            if n:
                totals[account_id] = self._sums[account_id][n]
                counts[account_id] = n
        return totals, counts


_INDEXES: weakref.WeakKeyDictionary[Ledger, dict[str, AccountIndex]] = weakref.WeakKeyDictionary()
_INDEX_LOCK = threading.Lock()


def account_index(ledger: Ledger, basis: str) -> AccountIndex:
    """The ledger's AccountIndex for `basis`, built on first use (ledgers are immutable:
    a company replaces its ledger when a record changes)."""
    with _INDEX_LOCK:
        by_basis = _INDEXES.setdefault(ledger, {})
        if basis not in by_basis:
            by_basis[basis] = AccountIndex(ledger.postings(basis))
        return by_basis[basis]


class Slices:
    """Running per-account totals at each cut date, per bucket."""

    def __init__(
        self,
        ledger: Ledger,
        basis: str,
        cuts: Iterable[date],
        *,
        from_beginning: bool,
        keep: Keep | None = None,
        bucket_of: BucketOf | None = None,
    ) -> None:
        """`from_beginning=False` skips everything up to the first cut (flow reports only
        ask for windows after it, and the skipped history can be millions of postings)."""
        self.cuts = sorted(set(cuts))
        self._index = {cut: i for i, cut in enumerate(self.cuts)}
        if keep is None and bucket_of is None:
            # Unfiltered: read running totals off the index; "seen" counts postings.
            index = account_index(ledger, basis)
            self.buckets = {ALL}
            marks = [index.upto(cut) for cut in self.cuts]
            self._totals = {ALL: [totals for totals, _ in marks]}
            self._seen = {ALL: [counts for _, counts in marks]}
            return
        segments = []
        previous: date | None = None
        for i, cut in enumerate(self.cuts):
            if i == 0 and not from_beginning:
                segments.append({})
            else:
                start = None if previous is None else previous + ONE_DAY
                segments.append(_sum(ledger.postings_between(basis, start, cut), keep, bucket_of))
            previous = cut
        self.buckets: set[str] = {ALL}.union(*(segment.keys() for segment in segments))
        # Per bucket and cut: running sums, and how many segments so far had postings.
        self._totals: dict[str, list[dict[str, int]]] = {}
        self._seen: dict[str, list[dict[str, int]]] = {}
        for bucket in self.buckets:
            totals: dict[str, int] = {}
            seen: dict[str, int] = {}
            running_totals, running_seen = [], []
            for segment in segments:
                part = segment.get(bucket)
                if part:
                    totals = dict(totals)
                    seen = dict(seen)
                    for account_id, cents in part.items():
                        totals[account_id] = totals.get(account_id, 0) + cents
                        seen[account_id] = seen.get(account_id, 0) + 1
                running_totals.append(totals)
                running_seen.append(seen)
            self._totals[bucket] = running_totals
            self._seen[bucket] = running_seen

    def window(self, after: date | None, through: date, bucket: str = ALL) -> dict[str, int]:
        """Sums over (after, through] of the accounts with postings in it (after None: all
        history). Both dates must be cuts."""
        i = self._index[through]
        totals, seen = self._totals[bucket][i], self._seen[bucket][i]
        if after is None:
            return dict(totals)
        j = self._index[after]
        if j >= i:
            return {}
        before, seen_before = self._totals[bucket][j], self._seen[bucket][j]
        return {
            account_id: cents - before.get(account_id, 0)
            for account_id, cents in totals.items()
            if seen[account_id] > seen_before.get(account_id, 0)
        }
