"""Dunning: `cpqctl dunning run` — payment reminders by days overdue, the statutory late-payment compensation and
interest, and a hint list of accounts to suspend (docs/dunning.md).

What each invoice still asks for and how late it is comes from :mod:`cpqctl.core.receivables` (an invoice and its
corrections are one chain; payments count from their day). This module adds the rules of dunning — the level an
invoice has reached, the compensation of art. 10 ust. 1 of the Polish act of 8 March 2013 (Directive 2011/7/EU
art. 6), the statutory interest day by day — as pure functions in its first section, then the use case: choose
what to remind, render one e-mail per account and level from the `dunning-email.<language>.txt.j2` templates,
send it through cpq.toml [smtp] (:mod:`cpqctl.formats.mail`, the path `invoice send` uses) and record it in each
reminded invoice file's `reminders:` list once the server accepted it (:func:`cpqctl.formats.invoice.
reminder_added_text`), one transaction per e-mail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from cpqctl.app.workspace import Workspace
from cpqctl.core import receivables
from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import FxRate, Invoice, Payment, Repo, Settings
from cpqctl.core.money import fmt_percent, money_str, round_money

Notify = Callable[[str], None]
_Day = date  # the type, for the records whose field `date` shadows the name

DEFAULT_LEVELS = (7, 21)  # days past due of reminder 1 and 2 when cpq.toml has no [dunning] levels
DEFAULT_SUSPEND_AFTER = 60  # days past due from which an account is listed as a hint to suspend
DAYS_IN_YEAR = 365  # statutory interest by the day: rate × days / 365
# art. 10 ust. 1 of the act of 8 March 2013: the compensation in EUR by the value of the claim in PLN
SMALL_CLAIM_PLN = Decimal(5000)  # up to and including: EUR 40
LARGE_CLAIM_PLN = Decimal(50000)  # from (inclusive): EUR 100; between: EUR 70
COLUMNS = ["account", "level", "invoice", "due", "days", "open", "compensation", "interest", "total", "to"]
SUSPEND_COLUMNS = ["account", "name", "days_overdue", "invoices", "open"]


def _quiet(_: str) -> None:
    pass


# --------------------------------------------------------------------------- the rules (pure)


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


# --------------------------------------------------------------------------- the e-mail


def letter_language(repo: Repo, account: str) -> str:
    """The reminder's language: the account's documents' language (cpq.toml's when it names none); of a bilingual
    one (pl+en), the first."""
    from cpqctl.core.issuing import language

    return language(repo.accounts.get(account), repo.settings).split("+", 1)[0]


def template_data(repo: Repo, letter: Letter, cfg: DunningConfig, day: date, greeting: str) -> dict:
    """What `dunning-email.<language>.txt.j2` reads (docs/dunning.md)."""
    from cpqctl.views.documents import company

    s = repo.settings

    def bank(cur: str) -> str:
        return s.company_bank_accounts.get(cur) or (s.company_bank_account if cur == s.currency else "")

    return {
        "company": company(repo),
        "language": letter.language,
        "account": {"id": letter.account, "name": letter.name},
        "greeting": greeting,
        "as_of": day,
        "level": letter.level,
        "levels": len(cfg.levels),
        "final": letter.level >= 3 and letter.level == len(cfg.levels),
        "interest_rate": cfg.interest_rate,
        "invoices": [
            {
                "number": it.invoice,
                "date": it.date,
                "due": it.due,
                "currency": it.currency,
                "total": it.total,
                "open": it.open,
                "days_overdue": it.days_overdue,
                "interest": it.interest,
                "compensation": (
                    {
                        "amount": it.compensation.amount,
                        "currency": it.compensation.currency,
                        "eur": it.compensation.eur,
                        "rate": it.compensation.rate.rate,
                        "table": it.compensation.rate.table,
                        "rate_date": it.compensation.rate.day,
                    }
                    if it.compensation is not None
                    else None
                ),
            }
            for it in letter.items
        ],
        "totals": [{**t, "bank_account": bank(t["currency"])} for t in letter.totals()],
    }


def _message(root, repo: Repo, letter: Letter, cfg: DunningConfig, day: date, strict: bool):
    """The reminder e-mail: the template's first line is the subject, the rest the plain-text body. Deterministic
    like an invoice's e-mail: dated ``day``, its Message-ID a hash of the account, the level, the invoices, the
    recipients and the day."""
    from email.message import EmailMessage
    from email.utils import format_datetime

    from cpqctl.app.documents import repo_templates
    from cpqctl.formats import mail
    from cpqctl.render.documents import TemplateError, render_text

    account = repo.accounts.get(letter.account)
    names = {c.email: c.name for c in account.contacts} if account is not None else {}
    greeting = names.get(letter.to[0], "") if len(letter.to) == 1 else ""
    data = template_data(repo, letter, cfg, day, greeting)
    kind = f"dunning-email.{letter.language}"
    text = render_text(kind, data, repo_templates(root)).lstrip("\n")
    subject, _, body = text.partition("\n")
    subject = subject.strip()
    if not subject or any(ord(c) < 32 for c in subject):
        raise TemplateError(f"{kind}.txt.j2: the first line (the subject) is empty")
    from_ = mail.sender(repo.settings, strict)
    numbers = [it.invoice for it in letter.items]
    msg = EmailMessage()
    msg["From"] = from_
    msg["To"] = ", ".join(letter.to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC))
    msg["Message-ID"] = mail.message_id(f"reminder{letter.level}.{letter.account}", [*letter.to, *numbers], from_, day)
    msg.set_content(body.lstrip("\n"), charset="utf-8")
    return msg


def _recipients(repo: Repo, account: str) -> tuple[str, ...]:
    from cpqctl.formats import mail

    a = repo.accounts.get(account)
    found = mail.billing_recipients(a) if a is not None else []
    if not found:
        raise CpqError(
            "E-NO-RECIPIENT",
            f"account {account} has no contact with an e-mail address to send its payment reminder to",
            f"add `contacts: [{{name: …, email: …, role: billing}}]` to contracts/{account}/account.yaml, "
            f"or leave it out of this run (--account)",
            src=a.src if a is not None else None,
        )
    return tuple(found)


def _recorded(store, inv: Invoice, level: int, day: date, to: Sequence[str], mid: str) -> tuple[str, str, str | None]:
    """(path, the file's new text, its sha256 now) recording one reminder in the invoice file."""
    from cpqctl.formats.invoice import reminder_added_text
    from cpqctl.store import sha256_file

    rel = inv.src.file
    path = store.path(rel)
    return rel, reminder_added_text(path.read_text(encoding="utf-8"), inv, level, day, to, mid), sha256_file(path)


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class DunningResult:
    """What a run sent (or, dry, would send): the letters, the suspend hints, the files written."""

    as_of: date
    dry_run: bool
    config: DunningConfig
    letters: tuple[Letter, ...] = ()
    suspend: tuple[SuspendHint, ...] = ()
    written: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    message: str = ""
    error: CpqError | None = field(default=None, compare=False)

    @property
    def data(self) -> dict:
        """`dunning run --format json`."""
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            **self.config.data,
            "reminders": [x.data for x in self.letters],
            "suspend": [h.data for h in self.suspend],
        }

    @property
    def rows(self) -> list[dict]:
        """The table: per reminder e-mail a row per invoice, then its totals (a row per currency)."""

        def amount(value: Decimal | None, cur: str) -> str:
            return f"{money_str(value, cur)} {cur}" if value is not None else ""

        out = []
        for x in self.letters:
            to = ", ".join(x.to) if self.dry_run or x.sent else "(not sent)"
            for it in x.items:
                c = it.compensation
                out.append(
                    {
                        "account": x.account,
                        "level": x.level,
                        "invoice": it.invoice,
                        "due": it.due.isoformat(),
                        "days": it.days_overdue,
                        "open": amount(it.open, it.currency),
                        "compensation": amount(c.amount, c.currency) if c is not None else "",
                        "interest": amount(it.interest, it.currency),
                        "to": to,
                    }
                )
            for t in x.totals():
                cur = t["currency"]
                out.append(
                    {
                        "account": x.account,
                        "level": x.level,
                        "invoice": "total",
                        "open": amount(t["open"], cur),
                        "compensation": amount(t["compensation"], cur) if t["compensation"] else "",
                        "interest": amount(t["interest"], cur) if t["interest"] else "",
                        "total": amount(t["total"], cur),
                    }
                )
        return out

    @property
    def suspend_rows(self) -> list[dict]:
        return [
            {
                "account": h.account,
                "name": h.name,
                "days_overdue": h.days_overdue,
                "invoices": ", ".join(h.invoices),
                "open": ", ".join(f"{money_str(a, c)} {c}" for c, a in h.open),
            }
            for h in self.suspend
        ]

    @property
    def totals(self) -> list[dict]:
        """Per currency, over every reminder: open, interest, compensation, total."""
        keys = ("open", "interest", "compensation", "total")
        out: dict[str, dict[str, Decimal]] = {}
        for x in self.letters:
            for t in x.totals():
                r = out.setdefault(t["currency"], dict.fromkeys(keys, Decimal(0)))
                for k in keys:
                    r[k] += t[k]
        return [{"currency": c, **r} for c, r in sorted(out.items())]


def run_dunning(
    ws: Workspace,
    *,
    as_of: date | None = None,
    accounts: Sequence[str] = (),
    dry_run: bool = False,
    notify: Notify | None = None,
) -> DunningResult:
    """Send the payment reminders due on the as-of day (docs/dunning.md).

    One e-mail per account and level, listing that account's open invoices that reached the level on the day and
    have no reminder of it (or a higher one) recorded, in the account's language, through cpq.toml [smtp] to its
    billing contacts; recorded in each invoice file's `reminders:` once the server accepted it. Everything that can
    be refused is checked before the first message goes out (the configuration, the exchange rates of the
    compensation, recipients, templates, every file able to take its record). ``dry_run``: the same plan and
    messages, nothing sent nor written (no [smtp] needed). ``accounts``: only those.
    """
    from cpqctl.app.accounts import find_account
    from cpqctl.formats import mail

    say = notify or _quiet
    day = ws.day(as_of)
    written: list[str] = []
    problems: list[str] = []
    done: list[Letter] = []
    with ws.writing() as (store, repo):
        cfg = dunning_config(repo.settings)
        wanted = [find_account(repo, a).account for a in accounts]
        groups, hints = plan(repo, day, cfg, wanted)
        letters = []
        for account, level, items in groups:
            a = repo.accounts.get(account)
            letter = Letter(
                account,
                a.name if a is not None else account,
                level,
                letter_language(repo, account),
                _recipients(repo, account),
                tuple(items),
            )
            msg = _message(ws.root, repo, letter, cfg, day, strict=not dry_run)  # templates checked before sending
            letters.append(replace(letter, subject=str(msg["Subject"]), message_id=str(msg["Message-ID"])))
        if dry_run or not letters:
            result = letters
        else:
            smtp = mail.smtp_config(repo.settings)  # configuration errors first
            for letter in letters:  # and every file able to take its record
                for it in letter.items:
                    _recorded(store, repo.invoices[it.invoice], letter.level, day, letter.to, "<check>")
            result = []
            with mail.Connection(smtp) as conn:
                for letter in letters:
                    sent = _send_one(conn, store, ws.root, repo, letter, cfg, day, problems, say)
                    result.append(sent)
                    if sent.sent:
                        written.extend(it.file for it in sent.items)
        done = list(result)
    error = None
    if problems:
        error = CpqError(
            "E-SMTP-REFUSED",
            f"{len(problems)} reminder(s) not delivered to every recipient:\n  " + "\n  ".join(problems),
            "fix the account's billing contacts and run `cpqctl dunning run` again: what was not recorded goes out "
            "again, the deliveries that worked are recorded",
        )
    n = len(done)
    if dry_run:
        message = f"dry run: {n} reminder(s) would be sent on {day}; nothing sent or written" if n else ""
    else:
        message = f"sent {sum(1 for x in done if x.sent)} reminder(s) on {day}" if n else ""
    if not n:
        message = f"no reminders due on {day}"
    return DunningResult(day, dry_run, cfg, tuple(done), tuple(hints), tuple(written), tuple(problems), message, error)


def _send_one(conn, store, root, repo: Repo, letter: Letter, cfg: DunningConfig, day: date, problems, say) -> Letter:
    """Send one reminder and record it in each of its invoice files (one transaction); a refusal of its recipients is
    noted and the run goes on."""
    from email.utils import getaddresses

    msg = _message(root, repo, letter, cfg, day, strict=True)
    mid = str(msg["Message-ID"])
    numbers = ", ".join(it.invoice for it in letter.items)
    what = f"reminder {letter.level} to {letter.account} ({numbers})"
    try:
        refused = conn.send(msg)
    except CpqError as e:
        if e.code != "E-SMTP-REFUSED":
            raise  # the session is broken: stop here (what went out is recorded)
        problems.append(f"{what}: {e.message}")
        say(f"cpqctl: {what} not sent: {e.message}")
        return replace(letter, problem=e.message)
    got = [r for r in letter.to if getaddresses([r])[0][1] not in refused]
    for addr, why in sorted(refused.items()):
        problems.append(f"{what}: {addr} refused ({why})")
    records = [_recorded(store, repo.invoices[it.invoice], letter.level, day, got, mid) for it in letter.items]
    try:
        with store.transaction() as tx:  # one e-mail's records together; a later failure keeps earlier ones
            for rel, text, sha in records:
                tx.write(rel, text, expect_sha256=sha)
    except Exception as exc:  # delivered but not recorded: say exactly what to add, never lose it silently
        from cpqctl.formats.invoice import reminder_entry

        line = reminder_entry(letter.level, day, got, mid)
        raise CpqError(
            "E-REMINDER-NOT-RECORDED",
            f"{what} was delivered to {', '.join(got)} (Message-ID {mid}) but recording it failed: {exc}",
            "add this item to the `reminders:` list (after the digest line, before `sent:`) of "
            + ", ".join(rel for rel, _, _ in records)
            + f" by hand, or the next run sends it again:\n{line}",
        ) from None
    say(f"sent {what} to {', '.join(got)}")
    return replace(letter, to=tuple(got), message_id=mid, sent=True)
