"""Dunning: `cpqctl dunning run` — payment reminders by days overdue, the statutory late-payment compensation and
interest, and a hint list of accounts to suspend (docs/dunning.md).

What each invoice still asks for and how late it is comes from :mod:`cpqctl.core.receivables` (an invoice and its
corrections are one chain; payments count from their day); the rules of dunning — the level an invoice has
reached, the compensation of art. 10 ust. 1 of the Polish act of 8 March 2013 (Directive 2011/7/EU art. 6), the
statutory interest day by day — are the pure :mod:`cpqctl.core.dunning`. This module is the use case: choose
what to remind, render one e-mail per account and level from the `dunning-email.<language>.txt.j2` templates,
send it through cpq.toml [smtp] (:mod:`cpqctl.formats.mail`, the path `invoice send` uses) and record it in each
reminded invoice file's `reminders:` list once the server accepted it (:func:`cpqctl.formats.invoice.
reminder_added_text`), one transaction per e-mail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal

from cpqctl.app.spill import Spilled
from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError
from cpqctl.core.dunning import (
    DunningConfig,
    Letter,
    SuspendHint,
    dunning_config,
    plan,
)
from cpqctl.core.model import Invoice, Repo
from cpqctl.core.money import money_str

Notify = Callable[[str], None]
_Day = date  # the type, for the records whose field `date` shadows the name

COLUMNS = ["account", "level", "invoice", "due", "days", "open", "compensation", "interest", "total", "to"]
SUSPEND_COLUMNS = ["account", "name", "days_overdue", "invoices", "open"]


def _quiet(_: str) -> None:
    pass


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

    subject, body, from_, mid = _rendered(root, repo, letter, cfg, day, strict)
    msg = EmailMessage()
    msg["From"] = from_
    msg["To"] = ", ".join(letter.to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC))
    msg["Message-ID"] = mid
    msg.set_content(body.lstrip("\n"), charset="utf-8")
    return msg


def _rendered(root, repo: Repo, letter: Letter, cfg: DunningConfig, day: date, strict: bool):
    """(subject, body, sender, Message-ID) of the reminder e-mail (:func:`_message`; a dry run needs no more: the
    e-mail object itself took half of a dry run's time)."""
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
    mid = mail.message_id(f"reminder{letter.level}.{letter.account}", [*letter.to, *numbers], from_, day)
    return subject, body, from_, mid


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
    letters: tuple[Letter, ...] | Spilled | _Letters = ()  # a run in parts: on disk, given in order
    suspend: tuple[SuspendHint, ...] = ()
    written: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    message: str = ""
    error: CpqError | None = field(default=None, compare=False)

    @property
    def data(self) -> dict:
        """`dunning run --format json`."""
        return {**self.head, **{key: list(items) for key, items in self.lists}}

    @property
    def head(self) -> dict:
        """:attr:`data` but its lists."""
        return {"as_of": self.as_of.isoformat(), "dry_run": self.dry_run, **self.config.data}

    @property
    def lists(self) -> list[tuple[str, Iterator[dict]]]:
        """:attr:`data`'s lists, made one item at a time (47,800 reminders at 50,000 accounts: 0.7 GB at once)."""
        return [("reminders", (x.data for x in self.letters)), ("suspend", (h.data for h in self.suspend))]

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


KINDS = frozenset({"account", "invoice", "payment"})  # what the plan and the e-mails read


@dataclass
class Planned:
    """What the plan of one part of the repository (or all of it) gives: the letters with their e-mails, the
    suspend hints, and the reminded invoices (to record the reminders in)."""

    letters: list[Letter]
    messages: list
    hints: list[SuspendHint]
    invoices: dict[str, Invoice]


def _planned(root, repo: Repo, cfg: DunningConfig, day: date, wanted: Sequence[str], dry_run: bool) -> Planned:
    """The letters of ``repo`` on ``day`` with their e-mails (templates, recipients and sender checked)."""
    groups, hints = plan(repo, day, cfg, wanted)
    out = Planned([], [], hints, {})
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
        if dry_run:
            subject, _, _, mid = _rendered(root, repo, letter, cfg, day, strict=False)
        else:
            msg = _message(root, repo, letter, cfg, day, strict=True)
            subject, mid = str(msg["Subject"]), str(msg["Message-ID"])
            out.messages.append(msg)
        out.letters.append(replace(letter, subject=subject, message_id=mid))
        if not dry_run:
            out.invoices.update((it.invoice, repo.invoices[it.invoice]) for it in items)
    return out


def _letter_order(letter: Letter) -> tuple[str, int]:
    return letter.account, letter.level


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

    A big repository is planned one part at a time (with ``accounts``, only theirs) (:meth:`Workspace.clean_parts`: whole
    account folders with their invoices and payments; issue 21: the whole model of 50,000 accounts with a year of
    invoices took 1.2 GB): an account's reminders read only its own invoices, the payments that settle them, its
    contacts and the settings. Each reminder's record is checked as the whole write checks it (the invoice file
    read back, its reminders only added: :func:`cpqctl.app.staged.only_deliveries`).
    """
    from cpqctl.app.accounts import find_account

    say = notify or _quiet
    day = ws.day(as_of)
    problems: list[str] = []
    got: tuple[DunningConfig, list[SuspendHint], Sequence[Letter] | Spilled | _Letters] | None = None
    with ws.clean_parts() as parts:
        # ``accounts`` each exactly an account folder: only their parts are read (else the whole load finds the
        # one meant, or refuses it with the closest name)
        if parts is not None and all(a in parts.plan.folders for a in accounts):
            if accounts:
                parts.plan.only(accounts)
            cfg = dunning_config(parts.settings)
            settings = parts.settings
            spill = Spilled(_pair_order)  # (letter, its e-mail or None) of every part, on disk

            def one(repo: Repo) -> list[SuspendHint]:
                out = _planned(ws.root, repo, cfg, day, accounts, dry_run)
                spill.add(zip(out.letters, out.messages or [None] * len(out.letters), strict=True))
                return out.hints

            read = parts.read(KINDS, one)
            if read is None:
                spill.close()
            else:
                hints = sorted((h for part in read for h in part), key=lambda h: h.account)
                sent = _deliver(
                    parts.held, settings, spill, day, dry_run, problems, say, lambda x: _own(ws.root, settings, x)
                )
                got = cfg, hints, sent
    if got is None:
        with ws.writing() as (store, repo):
            cfg = dunning_config(repo.settings)
            wanted = [find_account(repo, a).account for a in accounts]
            planned = _planned(ws.root, repo, cfg, day, wanted, dry_run)
            pairs = list(zip(planned.letters, planned.messages or [None] * len(planned.letters), strict=True))
            sent = _deliver(
                store, repo.settings, pairs, day, dry_run, problems, say, lambda _: (planned.invoices, None)
            )
            got = cfg, planned.hints, sent
    cfg, hints, done = got
    written = () if dry_run else tuple(it.file for x in done if x.sent for it in x.items)
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
    letters = done if isinstance(done, (Spilled, _Letters)) else tuple(done)
    return DunningResult(day, dry_run, cfg, letters, tuple(hints), written, tuple(problems), message, error)


class _Letters:
    """The letters of (letter, e-mail) pairs kept on disk: iterated in order, with a length."""

    def __init__(self, pairs: Spilled) -> None:
        self.pairs = pairs

    def __iter__(self) -> Iterator[Letter]:
        return (letter for letter, _ in self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)


def _pair_order(pair: tuple[Letter, object]) -> tuple[str, int]:
    return _letter_order(pair[0])


def _deliver(
    store, settings, pairs, day: date, dry_run: bool, problems, say, own
) -> Sequence[Letter] | Spilled | _Letters:
    """Send the planned letters (``pairs``: each with its e-mail, in order) and record each (nothing on a dry run).
    ``own(letter)``: (the invoices it reminds of, by number; the store validator of its commit, None: the one
    installed over the whole repository). On disk (:class:`Spilled`) in, on disk out: a run in parts holds one
    letter at a time."""
    from cpqctl.formats import mail

    if dry_run or not len(pairs):
        return _Letters(pairs) if isinstance(pairs, Spilled) else [letter for letter, _ in pairs]
    smtp = mail.smtp_config(settings)  # configuration errors first
    for letter, _ in pairs:  # and every file able to take its record
        invoices, _ = own(letter)
        for it in letter.items:
            _recorded(store, invoices[it.invoice], letter.level, day, letter.to, "<check>")
    out: list[Letter] | Spilled = Spilled(_letter_order) if isinstance(pairs, Spilled) else []
    with mail.Connection(smtp) as conn:
        for letter, msg in pairs:
            invoices, validator = own(letter)
            if validator is not None:
                store.validator = validator
            out.append(_send_one(conn, store, invoices, letter, msg, day, problems, say))
    return out


def _own(root, settings, letter: Letter):
    """(the invoices ``letter`` reminds of, the validator of its commit) for a run planned in parts: its invoice
    files read again (:func:`_own_files`)."""
    from cpqctl.load.cache import load_files
    from cpqctl.load.repo import Loaded

    rels = [it.file for it in letter.items]
    repo, _ = Loaded(settings, load_files(root, [(rel, "invoice") for rel in rels]), [], whole=False).assemble()
    return repo.invoices, _own_files(root, settings, rels)


def _own_files(root, settings, rels: list[str]):
    """A store validator for a reminder's commit planned in parts: the repository state of its invoice files alone
    (:func:`cpqctl.app.staged.refuse_invalid_writes`; a commit other than reminders added would be checked on
    them alone, and refused)."""
    from cpqctl.app.staged import refuse_invalid_writes
    from cpqctl.load.cache import load_files
    from cpqctl.load.repo import Loaded

    return refuse_invalid_writes(
        Loaded(settings, load_files(root, [(rel, "invoice") for rel in rels]), [], whole=False)
    )


def _send_one(conn, store, invoices, letter: Letter, msg, day: date, problems, say) -> Letter:
    """Send one reminder and record it in each of its invoice files (one transaction); a refusal of its recipients is
    noted and the run goes on."""
    from email.utils import getaddresses

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
    records = [_recorded(store, invoices[it.invoice], letter.level, day, got, mid) for it in letter.items]
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
