"""The rules of dunning (docs/dunning.md): the level an overdue invoice has reached, the compensation for recovery
costs of art. 10 ust. 1 of the Polish act of 8 March 2013 (Directive 2011/7/EU art. 6), the statutory interest day
by day, and which reminders are due on a day. Pure: records in, records out; the use case that renders, sends and
records them is :mod:`cpqctl.app.dunning`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from cpqctl.core import receivables
from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import FxRate, Payment, Repo, Settings
from cpqctl.core.money import fmt_percent, money_str, round_money

_Day = date  # the type, for the records whose field `date` shadows the name

DEFAULT_LEVELS = (7, 21)  # days past due of reminder 1 and 2 when cpq.toml has no [dunning] levels
DEFAULT_SUSPEND_AFTER = 60  # days past due from which an account is listed as a hint to suspend
DAYS_IN_YEAR = 365  # statutory interest by the day: rate × days / 365
# art. 10 ust. 1 of the act of 8 March 2013: the compensation in EUR by the value of the claim in PLN
SMALL_CLAIM_PLN = Decimal(5000)  # up to and including: EUR 40
LARGE_CLAIM_PLN = Decimal(50000)  # from (inclusive): EUR 100; between: EUR 70


@dataclass(frozen=True)
class DunningConfig:
    """cpq.toml [dunning] with its defaults (docs/dunning.md)."""

    levels: tuple[int, ...] = DEFAULT_LEVELS
    suspend_after: int = DEFAULT_SUSPEND_AFTER
    compensation: bool = False
    interest_rate: Decimal | None = None  # percent a year; None: no interest shown

    @property
    def data(self) -> dict:
        return {
            "levels": list(self.levels),
            "suspend_after": self.suspend_after,
            "compensation": self.compensation,
            "interest_rate": fmt_percent(self.interest_rate) if self.interest_rate is not None else None,
        }


def dunning_config(settings: Settings) -> DunningConfig:
    """[dunning] as read (the schema checked each value), its defaults, and what the schema cannot say: the levels
    rise from at least 1 day, and the compensation (a Polish statute) needs the company currency PLN."""
    raw = settings.dunning
    levels = tuple(int(x) for x in raw.get("levels") or ()) or DEFAULT_LEVELS  # type: ignore[attr-defined]
    if any(d < 1 for d in levels) or any(b <= a for a, b in zip(levels, levels[1:], strict=False)):
        raise CpqError(
            "E-DUNNING-CONFIG",
            f"cpq.toml [dunning] levels = {list(levels)}: the days past due of the reminder levels must rise, "
            "each 1 or more",
            "e.g. levels = [7, 21, 45]: reminder 1 a week after the due date, 2 after three weeks, 3 after 45 days",
            src=settings.src,
        )
    compensation = bool(raw.get("compensation", False))
    if compensation and settings.currency != "PLN":
        raise CpqError(
            "E-DUNNING-CONFIG",
            f"cpq.toml [dunning] compensation = true needs the company currency PLN (it is {settings.currency}): "
            "the amounts are those of the Polish act of 8 March 2013, art. 10, converted at NBP's rates",
            "set compensation = false (claim the compensation of your own law by hand), or [company] currency = "
            '"PLN" for a Polish seller',
            src=settings.src,
        )
    rate = raw.get("interest_rate")
    return DunningConfig(
        levels=levels,
        suspend_after=int(raw.get("suspend_after", DEFAULT_SUSPEND_AFTER)),  # type: ignore[call-overload]
        compensation=compensation,
        interest_rate=Decimal(rate) if rate is not None else None,  # type: ignore[arg-type]
    )


def level_reached(days_overdue: int, levels: Sequence[int]) -> int:
    """The highest reminder level whose days past due ``days_overdue`` has reached (0: none yet)."""
    return sum(1 for d in levels if days_overdue >= d)


def compensation_eur(value_pln: Decimal) -> int:
    """Art. 10 ust. 1 of the act of 8 March 2013: EUR 40 when the claim is at most PLN 5,000 (pkt 1), EUR 70 when it
    is more than 5,000 and less than 50,000 (pkt 2), EUR 100 when it is 50,000 or more (pkt 3)."""
    if value_pln <= SMALL_CLAIM_PLN:
        return 40
    if value_pln < LARGE_CLAIM_PLN:
        return 70
    return 100


@dataclass(frozen=True)
class Compensation:
    """The compensation for recovery costs of one invoice: ``amount`` in ``currency`` (EUR for an invoice in EUR,
    else PLN), ``eur`` the statutory EUR amount, ``rate`` the NBP EUR rate it was converted at, ``value_pln`` the
    claim in PLN that chose it."""

    amount: Decimal
    currency: str
    eur: int
    rate: FxRate
    value_pln: Decimal

    @property
    def data(self) -> dict:
        return {
            "amount": money_str(self.amount, self.currency),
            "currency": self.currency,
            "eur": str(self.eur),
            "rate": str(self.rate.rate),
            "table": self.rate.table or None,
            "rate_date": self.rate.day.isoformat(),
            "claim_pln": money_str(self.value_pln, "PLN"),
        }


def compensation(settings: Settings, chain: receivables.Chain) -> Compensation:
    """The compensation of art. 10 ust. 1 of the act of 8 March 2013 for the invoice ``chain``.

    The EUR amount by the claim's value (its gross total after corrections) in PLN, converted "at the average EUR
    rate NBP announced on the last working day of the month before the month the payment became due": the latest
    table of fx/EUR.yaml dated before the 1st of the due date's month (:func:`cpqctl.core.fx.rate_for_tax_point`).
    A claim in EUR gets the EUR amount itself (its value in PLN at that rate chooses it); a claim in another currency
    is valued in PLN at that currency's NBP rate of the same day.
    """
    from cpqctl.core import fx

    assert chain.due is not None
    first = date(chain.due.year, chain.due.month, 1)
    eur = fx.rate_for_tax_point(settings, "EUR", first)
    if chain.currency == "PLN":
        value = chain.total
    else:
        own = eur if chain.currency == "EUR" else fx.rate_for_tax_point(settings, chain.currency, first)
        value = fx.convert(chain.total, own.rate, 2)
    amount = compensation_eur(value)
    if chain.currency == "EUR":
        return Compensation(Decimal(amount).quantize(Decimal("0.01")), "EUR", amount, eur, value)
    return Compensation(fx.convert(Decimal(amount), eur.rate, 2), "PLN", amount, eur, value)


def allocations_by_document(payments: Iterable[Payment], day: date) -> dict[str, list[tuple[date, str, Decimal]]]:
    """Invoice number → (date, kind, amount) of each payment, refund and write-off allocated to it by ``day``."""
    out: dict[str, list[tuple[date, str, Decimal]]] = {}
    for p in payments:
        if p.date <= day and p.kind != "other":
            for a in p.allocations:
                out.setdefault(a.invoice, []).append((p.date, p.kind, a.amount))
    return out


def owed_changes(
    repo: Repo, chain: receivables.Chain, allocations: Mapping[str, Sequence[tuple[date, str, Decimal]]]
) -> list[tuple[date, Decimal]]:
    """(the first day it counts, change) of what the customer owes on ``chain``: each document's gross total from its
    date; each payment or write-off allocated to it (``allocations``: :func:`allocations_by_document`) less, and each
    refund more, from the day after its date (the day of payment is still a day of delay: interest runs "to the day
    of payment")."""
    out = [(repo.invoices[n].date, repo.invoices[n].gross_total) for n in chain.documents]
    for n in chain.documents:
        for paid, kind, amount in allocations.get(n, ()):
            out.append((paid + timedelta(days=1), amount if kind == "refund" else -amount))
    return sorted(out)


def statutory_interest(
    changes: Sequence[tuple[date, Decimal]], due: date, day: date, rate: Decimal, currency: str
) -> Decimal:
    """Interest for late payment from the day after ``due`` to ``day`` inclusive: Σ over the days of what was owed
    that day × ``rate`` (percent a year) ÷ 100 ÷ 365, exact, rounded half-up once to the currency's minor unit.

    ``changes`` are (first day, change) of what is owed (:func:`owed_changes`); a day owing nothing or less adds
    nothing. For an amount owed unchanged since the due date this is open × rate × days overdue ÷ 365.
    """
    start = due + timedelta(days=1)
    if day < start:
        return round_money(0, currency)
    owed = sum((c for d, c in changes if d <= start), Decimal(0))
    later = sorted({d for d, _ in changes if start < d <= day})
    total = Fraction(0)
    current = start
    for point in [*later, day + timedelta(days=1)]:
        total += Fraction(max(owed, Decimal(0))) * (point - current).days
        owed += sum((c for d, c in changes if d == point), Decimal(0))
        current = point
    return round_money(total * Fraction(rate) / 100 / DAYS_IN_YEAR, currency, "half-up")


# --------------------------------------------------------------------------- what to remind


@dataclass(frozen=True)
class Item:
    """One invoice in a reminder: its chain's numbers on the run's day, the level it reached, and (when cpq.toml
    [dunning] asks for them) its compensation and interest to the day."""

    invoice: str
    account: str
    currency: str
    date: _Day
    due: _Day
    total: Decimal  # gross after corrections
    open: Decimal
    days_overdue: int
    level: int
    file: str  # the invoice file, where the reminder is recorded
    compensation: Compensation | None = None
    interest: Decimal | None = None

    @property
    def data(self) -> dict:
        return {
            "invoice": self.invoice,
            "date": self.date.isoformat(),
            "due": self.due.isoformat(),
            "currency": self.currency,
            "gross_total": money_str(self.total, self.currency),
            "open": money_str(self.open, self.currency),
            "days_overdue": self.days_overdue,
            "compensation": self.compensation.data if self.compensation is not None else None,
            "interest": money_str(self.interest, self.currency) if self.interest is not None else None,
        }


@dataclass(frozen=True)
class Letter:
    """One reminder e-mail: an account, a level, the invoices that reached it; ``sent`` once the server took it."""

    account: str
    name: str
    level: int
    language: str
    to: tuple[str, ...]
    items: tuple[Item, ...]
    subject: str = ""
    message_id: str = ""
    sent: bool = False
    problem: str = ""

    def totals(self) -> list[dict]:
        """Per currency: what is open, the interest, the compensation (in its own currency) and their sum."""
        out: dict[str, dict[str, Decimal]] = {}

        def row(cur: str) -> dict[str, Decimal]:
            return out.setdefault(cur, {"open": Decimal(0), "interest": Decimal(0), "compensation": Decimal(0)})

        for it in self.items:
            row(it.currency)["open"] += it.open
            if it.interest is not None:
                row(it.currency)["interest"] += it.interest
            if it.compensation is not None:
                row(it.compensation.currency)["compensation"] += it.compensation.amount
        return [
            {"currency": cur, **r, "total": r["open"] + r["interest"] + r["compensation"]}
            for cur, r in sorted(out.items())
        ]

    @property
    def data(self) -> dict:
        return {
            "account": self.account,
            "name": self.name,
            "level": self.level,
            "language": self.language,
            "to": list(self.to),
            "subject": self.subject,
            "message_id": self.message_id or None,
            "sent": self.sent,
            "problem": self.problem or None,
            "invoices": [it.data for it in self.items],
            "totals": [
                {k: (money_str(v, t["currency"]) if k != "currency" else v) for k, v in t.items()}
                for t in self.totals()
            ],
        }


@dataclass(frozen=True)
class SuspendHint:
    """An account with an invoice open ``suspend_after`` days past due or more: a hint, nothing changes."""

    account: str
    name: str
    days_overdue: int  # of its oldest such invoice
    invoices: tuple[str, ...]
    open: tuple[tuple[str, Decimal], ...]  # (currency, what is open on those invoices)

    @property
    def data(self) -> dict:
        return {
            "account": self.account,
            "name": self.name,
            "days_overdue": self.days_overdue,
            "invoices": list(self.invoices),
            "open": [{"currency": c, "amount": money_str(a, c)} for c, a in self.open],
        }


def plan(
    repo: Repo, day: date, cfg: DunningConfig, accounts: Sequence[str] = ()
) -> tuple[list[tuple[str, int, list[Item]]], list[SuspendHint]]:
    """What a run on ``day`` reminds — (account, level, its invoices) in account then level order — and the accounts
    to suspend. Each open chain past due gets the highest level it has reached when its invoice has no reminder of
    that level or a higher one recorded yet (a level skipped by a late first run is not sent after the higher one)."""
    led = receivables.ledger(repo, day)
    allocations = allocations_by_document(repo.payments.values(), day) if cfg.interest_rate is not None else {}
    wanted = set(accounts)
    groups: dict[tuple[str, int], list[Item]] = {}
    late: dict[str, list[tuple[int, receivables.Chain]]] = {}
    for chain in sorted(led.chains.values(), key=lambda c: (c.due or c.date, c.invoice)):
        if (wanted and chain.account not in wanted) or chain.open <= 0 or chain.due is None:
            continue
        days = chain.days_overdue(day)
        if days <= 0:
            continue
        if days >= cfg.suspend_after:
            late.setdefault(chain.account, []).append((days, chain))
        level = level_reached(days, cfg.levels)
        inv = repo.invoices[chain.invoice]
        if level == 0 or level <= max((r.level for r in inv.reminders), default=0):
            continue
        comp = compensation(repo.settings, chain) if cfg.compensation else None
        interest = None
        if cfg.interest_rate is not None:
            changes = owed_changes(repo, chain, allocations)
            interest = statutory_interest(changes, chain.due, day, cfg.interest_rate, chain.currency)
        groups.setdefault((chain.account, level), []).append(
            Item(
                chain.invoice,
                chain.account,
                chain.currency,
                chain.date,
                chain.due,
                chain.total,
                chain.open,
                days,
                level,
                inv.src.file,
                comp,
                interest,
            )
        )
    hints = []
    for account, found in sorted(late.items()):
        a = repo.accounts.get(account)
        opens: dict[str, Decimal] = {}
        for _, c in found:
            opens[c.currency] = opens.get(c.currency, Decimal(0)) + c.open
        hints.append(
            SuspendHint(
                account,
                a.name if a is not None else account,
                max(d for d, _ in found),
                tuple(c.invoice for _, c in found),
                tuple(sorted(opens.items())),
            )
        )
    return [(acc, lvl, items) for (acc, lvl), items in sorted(groups.items())], hints
