"""`cpqctl invoice run | preview | render | send`: billing runs, previews, invoice documents and e-mail.

The schedule and the diff against the invoice ledger are :mod:`cpqctl.core.billing`
(pure); this module loads, allocates numbers under the lock, writes
`invoices/<id>.yaml` (SPEC §1) and prints. `render` and `send` work on one
issued invoice and load only its file, its account's folder and the catalog.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, DocFormatOpt, FormatOpt, OutputOpt, RepoOpt
from cpqctl.core.diagnostics import CpqError, UsageError

invoice_app = common.group(
    "invoice", "Invoices: billing runs, previews, documents and e-mail.\n\nExample:\n\n"
               "  cpqctl invoice preview C-2026-0001 --as-of 2026-04-10\n\n"
               "  cpqctl invoice run --through 2026-06-30 --dry-run\n\n"
               "  cpqctl invoice send INV-2026-0001 --eml INV-2026-0001.eml")

TABLE_ROWS = 200

ThroughOpt = Annotated[Optional[str], typer.Option(
    "--through", metavar="DATE", help="Issue every invoice dated on or before DATE (default: --as-of).")]


# --------------------------------------------------------------------------- shaping


def _money(value, currency: str) -> str:
    from cpqctl.core.money import money_str

    return money_str(value, currency)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def line_json(ln, currency: str) -> dict:
    from cpqctl.core.money import fmt_decimal

    return {"segment": ln.segment, "product": ln.product, "period_start": _iso(ln.period_start),
            "period_end": _iso(ln.period_end), "kind": ln.kind,
            "quantity": fmt_decimal(ln.quantity) if ln.quantity is not None else None,
            "amount": _money(ln.amount, currency)}


def draft_json(number: str | None, d) -> dict:
    from cpqctl.core.money import fmt_percent

    cur = d.currency
    starts = [ln.period_start for ln in d.lines if ln.period_start]
    ends = [ln.period_end or ln.period_start for ln in d.lines if ln.period_end or ln.period_start]
    return {
        "invoice": number, "account": d.account, "contract": d.contract, "date": d.date.isoformat(),
        "sale_date": _iso(d.sale_date), "due": d.due.isoformat(), "currency": cur,
        "period_start": _iso(min(starts, default=None)), "period_end": _iso(max(ends, default=None)),
        "reverse_charge": d.reverse_charge,
        "lines": [line_json(ln, cur) for ln in d.lines],
        "net_total": _money(d.net_total, cur),
        "taxes": [{"rate": fmt_percent(t.rate), "base": _money(t.base, cur), "amount": _money(t.amount, cur)}
                  for t in d.taxes],
        "tax_total": _money(d.tax_total, cur), "gross_total": _money(d.gross_total, cur),
    }


def invoice_text(number: str, d) -> str:
    """The invoice file (SPEC §1): flow-style lines, money with the currency's places."""
    from cpqctl.core.money import fmt_decimal, fmt_percent
    from cpqctl.formats.yamlout import Raw, flow, mapping_lines

    cur = d.currency
    m = lambda v: Raw(_money(v, cur))  # noqa: E731
    head = [("invoice", number), ("account", d.account), ("contract", d.contract), ("date", d.date),
            ("sale_date", d.sale_date), ("due", d.due), ("currency", cur),
            ("reverse_charge", True if d.reverse_charge else None)]
    out = mapping_lines(head)
    out.append("lines:")
    for ln in d.lines:
        out.append("  - " + flow([("segment", ln.segment), ("product", ln.product), ("kind", ln.kind),
                                  ("period_start", ln.period_start), ("period_end", ln.period_end),
                                  ("quantity", Raw(fmt_decimal(ln.quantity)) if ln.quantity is not None else None),
                                  ("amount", m(ln.amount))]))
    taxes = ", ".join(flow([("rate", Raw(fmt_percent(t.rate))), ("base", m(t.base)), ("amount", m(t.amount))])
                      for t in d.taxes)
    out.extend(mapping_lines([("net_total", m(d.net_total)), ("taxes", Raw(f"[{taxes}]")),
                              ("gross_total", m(d.gross_total))]))
    return "\n".join(out) + "\n"


def allocate(pattern: str, existing, drafts) -> list[str]:
    """Invoice numbers for ``drafts`` in order: {year} of each invoice's date, no gaps (call under the lock)."""
    from cpqctl.store import next_id

    last: dict[int, str] = {}
    out = []
    for d in drafts:
        year = d.date.year
        ident = next_id(pattern, year, [last[year]] if year in last else existing)
        last[year] = ident
        out.append(ident)
    return out


# --------------------------------------------------------------------------- run


def _run_row(x: dict) -> dict:
    return {"invoice": x["invoice"] or "(dry run)", "contract": x["contract"], "account": x["account"],
            "date": x["date"], "period": f"{x['period_start'] or ''}..{x['period_end'] or ''}",
            "net_total": x["net_total"], "tax": x["tax_total"], "gross_total": x["gross_total"],
            "currency": x["currency"]}


@invoice_app.command("run")
def run(
    through: ThroughOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the invoices; write nothing.")] = False,
    format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """Issue every invoice due by --through that the invoice ledger does not hold yet.

    The cumulative schedule of every contract (periods invoiced in advance,
    catch-ups of amendments accepted after their period was billed) minus
    what invoices/ already holds: running it twice issues nothing.

    Example:

      cpqctl invoice run --through 2026-06-30 --dry-run

      cpqctl invoice run --through 2026-06-30
    """
    from cpqctl.core import billing
    day = common.parse_date(through, "date") if through else common.as_of(as_of)
    if dry_run:
        _, loaded, diags = common.load(repo)
        common.require_clean(diags)
        with common.progress() as meter:
            drafts = billing.run(loaded, day, meter=meter)
        numbers: list[str | None] = [None] * len(drafts)
    else:
        with common.writing(repo) as (_, store, loaded):
            with common.progress() as meter:
                drafts = billing.run(loaded, day, meter=meter)
            numbers = allocate(loaded.settings.numbering_invoice, list(loaded.invoices), drafts)
            if drafts:
                with store.transaction() as tx:
                    for number, d in zip(numbers, drafts):
                        tx.create(f"invoices/{number}.yaml", invoice_text(number, d))
    from cpqctl.render.output import emit, write_json_streamed

    head = {"through": day.isoformat(), "dry_run": dry_run, "count": len(drafts)}
    if format == "json":  # a month of 50,000 contracts is 100,000+ invoices: encode one at a time
        write_json_streamed(head, "invoices", (draft_json(n, d) for n, d in zip(numbers, drafts)))
    else:
        shown = list(zip(numbers, drafts))
        if format == "table" and len(shown) > TABLE_ROWS:  # a terminal table of thousands of rows helps nobody
            common.info(f"showing the first {TABLE_ROWS} of {len(shown)} invoices (all of them with --format json "
                        "or csv)")
            shown = shown[:TABLE_ROWS]
        rows = [_run_row(draft_json(n, d)) for n, d in shown]
        emit(format, head, ["invoice", "contract", "account", "date", "period", "net_total", "tax", "gross_total",
                            "currency"], rows, title=f"Invoices through {day}" + (" (dry run)" if dry_run else ""),
             right=("net_total", "tax", "gross_total"))
    if not drafts:
        common.info(f"nothing to invoice through {day}")
    elif not dry_run:
        common.info(f"wrote {len(drafts)} invoice(s): invoices/{numbers[0]}.yaml"
                    + (f" … invoices/{numbers[-1]}.yaml" if len(numbers) > 1 else ""))


# --------------------------------------------------------------------------- preview


def _pending_quote(loaded, c, qid: str):
    q = common.lookup(loaded.quotes, qid, "quote", "E-UNKNOWN-QUOTE", "quotes are files under quotes/")
    if q.kind != "amendment" or q.contract != c.contract:
        raise CpqError("E-NOT-AMENDMENT", f"quote {qid} is not an amendment quote of {c.contract}",
                       f"create one with `cpqctl amend {c.contract} --effective DATE …`", src=q.src)
    if q.status == "accepted":
        raise CpqError("E-ACCEPTED", f"quote {qid} is already accepted: its invoices are in the schedule",
                       f"preview without --quote: `cpqctl invoice preview {c.contract}`", src=q.src)
    if q.based_on is not None and q.based_on != len(c.amendments):
        raise CpqError("E-STALE-QUOTE", f"contract {c.contract} has changed since {qid} was made "
                       f"({len(c.amendments)} amendments now, {q.based_on} then)",
                       f"regenerate the amendment quote with `cpqctl amend {c.contract} …`", src=q.src)
    return q


@invoice_app.command("preview")
def preview(
    contract: Annotated[str, typer.Argument(help="Contract ID, e.g. C-2026-0001.")],
    quote: Annotated[Optional[str], typer.Option("--quote", metavar="QUOTE",
                                                 help="A pending amendment quote: show the invoice delta it causes.")
                     ] = None,
    through: ThroughOpt = None,
    format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """Preview a contract's next invoices, or what accepting an amendment quote changes.

    Runs the same schedule as `invoice run` on a copy of the ledger and writes
    nothing. With no invoices on file, every period invoiced by --as-of counts
    as billed. --through sets how far to look (default: the contract's end, or
    a year ahead for an evergreen contract).

    Example:

      cpqctl invoice preview C-2026-0001 --as-of 2026-04-10

      cpqctl invoice preview C-2026-0001 --quote Q-2026-0007 --as-of 2026-04-10 --format json
    """
    from cpqctl.core import billing, quotes
    from cpqctl.cli.contract import get_contract
    from cpqctl.render.output import emit

    from cpqctl.load.repo import load_contract_context

    day = common.as_of(as_of)
    until = common.parse_date(through, "date") if through else None
    loaded, _ = load_contract_context(common.root(repo), contract, quote)  # this contract's files only
    c = get_contract(loaded, contract)
    settings = loaded.settings
    cur = c.currency
    billed = billing.ledger_index(i for i in loaded.invoices.values() if i.contract == c.contract).get(c.contract)
    if not billed:
        billed = billing.assumed_billed(c, settings, day)
    if quote is None:
        horizon = until or billing.horizon(c, day)
        lines = billing.due_lines(c, settings, horizon, billed)
        drafts = billing.drafts(c, loaded.accounts.get(c.account), settings, lines)
        invoices = []
        for d in drafts:
            x = draft_json(None, d)
            invoices.append({k: x[k] for k in ("date", "period_start", "period_end", "lines", "net_total",
                                               "tax_total", "gross_total")})
        data = {"contract": c.contract, "currency": cur, "as_of": day.isoformat(), "invoices": invoices}
        rows = [{"date": x["date"], "period": f"{x['period_start'] or ''}..{x['period_end'] or ''}",
                 "lines": len(x["lines"]), "net_total": x["net_total"], "gross_total": x["gross_total"]}
                for x in invoices]
        emit(format, data, ["date", "period", "lines", "net_total", "gross_total"], rows,
             title=f"{c.contract} · next invoices after {day} · {cur}", right=("lines", "net_total", "gross_total"))
        return
    q = _pending_quote(loaded, c, quote)
    priced = quotes.price(loaded, q)
    amended = billing.with_amendment(c, q, priced, day)
    pv = billing.preview_amendment(c, amended, settings, day, billed, priced.net_total, until)
    rounding = c.rounding or settings.rounding
    from cpqctl.core.money import round_money

    arr = lambda v: _money(round_money(v, cur, rounding), cur)  # noqa: E731
    on_net = sum((ln.amount for ln in pv.on_acceptance), round_money(0, cur, rounding))
    catch_up = billing.known_dates(amended.amendments[-1])[1]
    data = {
        "contract": c.contract, "quote": q.quote, "currency": cur, "as_of": day.isoformat(),
        "effective": amended.amendments[-1].effective.isoformat(),
        "on_acceptance": {"date": catch_up.isoformat(), "lines": [line_json(ln, cur) for ln in pv.on_acceptance],
                          "net_total": _money(on_net, cur)},
        "invoices": [{"date": d.isoformat(), "period_start": ps.isoformat(), "period_end": pe.isoformat(),
                      "before": _money(b, cur), "after": _money(a, cur), "delta": _money(a - b, cur)}
                     for d, ps, pe, b, a in pv.invoices],
        "contract_value_delta": _money(pv.contract_value_delta, cur),
        "arr_before": arr(pv.arr_before), "arr_after": arr(pv.arr_after),
        "arr_delta": arr(pv.arr_after - pv.arr_before),
    }
    rows = [{"invoice": "on acceptance", "date": data["on_acceptance"]["date"], "period": "",
             "before": _money(0, cur), "after": data["on_acceptance"]["net_total"],
             "delta": data["on_acceptance"]["net_total"]}]
    rows += [{"invoice": "scheduled", "date": x["date"], "period": f"{x['period_start']}..{x['period_end']}",
              "before": x["before"], "after": x["after"], "delta": x["delta"]} for x in data["invoices"]]
    title = (f"{c.contract} + {q.quote} · as of {day} · contract value {data['contract_value_delta']} {cur} · "
             f"ARR {data['arr_before']} → {data['arr_after']} {cur}")
    emit(format, data, ["invoice", "date", "period", "before", "after", "delta"], rows, title=title,
         right=("before", "after", "delta"))


# --------------------------------------------------------------------------- render and send


def _load_invoice(repo, invoice: str):
    from cpqctl.load.repo import load_invoice_context

    root = common.root(repo)
    loaded, diags = load_invoice_context(root, invoice)
    common.require_clean(diags)
    inv = _invoice(loaded, invoice)
    _warn_incomplete(loaded.settings)
    return root, loaded, inv


def _invoice(loaded, number: str):
    return common.lookup(loaded.invoices, number, "invoice", "E-UNKNOWN-INVOICE",
                         "invoices are files under invoices/, issued by `cpqctl invoice run`")


def _warn_incomplete(settings) -> None:
    """A VAT invoice must name the seller's address and VAT ID: say so while the repository is new."""
    missing = [k for k, v in (("address", settings.company_address), ("tax_id", settings.company_tax_id)) if not v]
    if missing:
        common.info(f"cpqctl: warning: cpq.toml [company] has no {' or '.join(missing)}: a VAT invoice must show "
                    "the seller's address and VAT ID")


@invoice_app.command("render")
def render(
    invoice: Annotated[str, typer.Argument(help="Invoice number, e.g. INV-2026-0001.")],
    format: DocFormatOpt = "pdf", output: OutputOpt = None,
    as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """Render an issued invoice as a VAT invoice document (Markdown or PDF).

    Seller and buyer with their VAT IDs, issue and sale dates, due date, each
    service with its period, quantity, VAT rate and net amount, net/VAT/gross
    per rate, the reverse-charge note, and payment details (cpq.toml
    [company] bank_account). The document depends only on the invoice file:
    it renders byte-identically on any day (--as-of is not used).

    Example:

      cpqctl invoice render INV-2026-0001 --format pdf

      cpqctl invoice render INV-2026-0001 --format md -o -
    """
    from cpqctl.views import documents
    root, loaded, inv = _load_invoice(repo, invoice)
    from cpqctl.app.documents import write_document

    wrote = write_document(root, "invoice", inv.invoice, format, documents.invoice_data(loaded, inv), output,
                           inv.date)
    if wrote:
        common.info(f"wrote {wrote}")


def _message(root: Path, loaded, inv, to: list[str], day: date, strict: bool = True):
    """The e-mail for ``inv``: the body and the attached PDF (dated the invoice date, the same on any day)
    rendered from one set of template data."""
    from cpqctl.views import documents
    from cpqctl.formats import mail
    from cpqctl.render.documents import render_pdf, render_text

    data = documents.invoice_data(loaded, inv)
    from cpqctl.app.documents import repo_templates

    templates = repo_templates(root)
    account = loaded.accounts.get(inv.account)
    names = {c.email: c.name for c in account.contacts} if account is not None else {}
    greeting = names.get(to[0], "") if len(to) == 1 else ""
    body = render_text("invoice-email", {**data, "greeting": greeting}, templates)
    kind = "Corrective invoice" if inv.corrects else "Invoice"
    subject = f"{kind} {inv.invoice} from {loaded.settings.company_name}" if loaded.settings.company_name \
        else f"{kind} {inv.invoice}"
    return mail.build(invoice=inv.invoice, to=to, from_=mail.sender(loaded.settings, strict), subject=subject,
                      body=body, pdf=render_pdf("invoice", data, templates, inv.date), day=day)


def _recipients(loaded, inv, to: list[str] | None) -> list[str]:
    from cpqctl.formats import mail
    if to:
        return mail.check_addresses(to)
    account = loaded.accounts.get(inv.account)
    found = mail.billing_recipients(account) if account is not None else []
    if not found:
        raise CpqError("E-NO-RECIPIENT", f"account {inv.account} has no contact with an e-mail address",
                       f"add `contacts: [{{name: …, email: …, role: billing}}]` to contracts/{inv.account}/"
                       "account.yaml, or pass --to ADDRESS", src=account.src if account is not None else None)
    return found


def _sent_append(store, inv, day: date, to: list[str], mid: str) -> tuple[str, str, str | None]:
    """(path, text to append, expected sha256) recording one delivery in the invoice file.

    The record goes in a block list `sent:` that is the file's last key (SPEC
    §1: outside the invoice's content); anything else is refused rather than
    rewritten. The file as it would be afterwards is parsed before anything is
    appended, so a delivery can never leave an invoice file that does not load.
    """
    import yaml

    from cpqctl.formats import mail
    from cpqctl.store import sha256_file

    rel = inv.src.file
    path = store.path(rel)
    text = path.read_text(encoding="utf-8")
    top = [ln for ln in text.splitlines() if ln[:1].isalpha()]
    has_key = any(ln.split(":", 1)[0] == "sent" for ln in top)
    if has_key and (top[-1].split("#", 1)[0].rstrip() != "sent:"):
        raise CpqError("E-SENT-NOT-LAST", f"{rel}: `sent:` is not a block list at the end of the file, so a "
                       "delivery cannot be appended", "make `sent:` the last key, with one `  - {…}` line per "
                       "delivery", src=inv.at.get("sent") or inv.src)
    add = ("" if text.endswith("\n") or not text else "\n") + ("" if has_key else "sent:\n") \
        + mail.sent_entry(day, to, mid)
    try:
        after = yaml.safe_load(text + add)
        ok = isinstance(after, dict) and isinstance(after.get("sent"), list) \
            and len(after["sent"]) == len(inv.sent) + 1 and after["sent"][-1].get("message_id") == mid
    except yaml.YAMLError:
        ok = False
    if not ok:
        raise CpqError("E-SENT-NOT-LAST", f"{rel}: a delivery appended to this file would not read back",
                       "make `sent:` the last key, a block list with one `  - {…}` line per delivery",
                       src=inv.at.get("sent") or inv.src)
    return rel, add, sha256_file(path)


@invoice_app.command("send")
def send(
    invoices: Annotated[Optional[list[str]], typer.Argument(
        help="Invoice numbers, e.g. INV-2026-0001.", show_default=False)] = None,
    unsent: Annotated[bool, typer.Option("--unsent", help="Every issued invoice dated on or before --as-of that "
                                         "has no delivery recorded yet.")] = False,
    since: Annotated[Optional[str], typer.Option(
        "--since", metavar="DATE", help="With --unsent: only invoices dated on or after DATE (the day you "
                                        "started sending with cpqctl; older ones went out another way).")] = None,
    to: Annotated[Optional[list[str]], typer.Option(
        "--to", metavar="ADDR", help="Recipient (repeatable; default: the account's billing contacts).")] = None,
    eml: Annotated[Optional[Path], typer.Option(
        "--eml", metavar="FILE", help="Write the message to FILE (a folder for several invoices; - for stdout) "
                                      "instead of sending it; nothing is recorded.")] = None,
    format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """E-mail invoices (PDF attached) to the customer's billing contact, or write them as .eml files.

    Sends through the SMTP server in cpq.toml [smtp] (host, port, starttls,
    user; the password from the environment variable `password_env` names)
    and appends the delivery (date, recipients, Message-ID) to the invoice
    file's `sent:` list once the server has accepted the message. A failed
    delivery records nothing; recipients the server refuses are reported (exit
    1) while those who got it are recorded, and --unsent goes on with the
    other invoices. The message is deterministic: its Date is
    --as-of and its Message-ID derives from the invoice, the recipients and
    that date.
    With --eml the message is written to a file and nothing is recorded
    (nothing was delivered).

    Example:

      cpqctl invoice send INV-2026-0001 --eml INV-2026-0001.eml

      CPQ_SMTP_PASSWORD=… cpqctl invoice send INV-2026-0001 --to anna.nowak@acme.example

      cpqctl invoice send --unsent   # the monthly job, after `invoice run`
    """
    from cpqctl.formats import mail
    day = common.as_of(as_of)
    names = list(invoices or [])
    if unsent == bool(names):
        raise UsageError("E-USAGE", "name the invoices to send, or pass --unsent (not both)",
                       "e.g. `cpqctl invoice send INV-2026-0001` or `cpqctl invoice send --unsent`")
    first = common.parse_date(since, "date") if since else None
    if first is not None and not unsent:
        raise UsageError("E-USAGE", "--since goes with --unsent", "e.g. `cpqctl invoice send --unsent --since "
                       "2026-01-01`")
    if eml is not None:
        _write_eml(names, unsent, eml, to, day, repo, first)
        return
    results: list[dict] = []
    problems: list[str] = []
    with common.writing(repo) as (root, store, loaded):
        if unsent:
            batch = _unsent(loaded, day, first)
        else:
            batch = [_invoice(loaded, n) for n in names]
        cfg = mail.smtp_config(loaded.settings) if batch else None  # configuration errors first
        plan = [(inv, _recipients(loaded, inv, to)) for inv in batch]  # every recipient found before sending
        for inv, rcpt in plan:
            _sent_append(store, inv, day, rcpt, "<check>")  # and every file able to take its record
        if plan:
            with mail.Connection(cfg) as conn:
                for inv, rcpt in plan:  # one message (and PDF) at a time
                    results += _send_one(conn, store, root, loaded, inv, rcpt, day, problems)
        else:
            common.info(f"no unsent invoices dated on or before {day}")
    _emit_sent(format, results, day)
    if problems:
        raise CpqError("E-SMTP-REFUSED", f"{len(problems)} invoice(s) not delivered to every recipient:\n  "
                       + "\n  ".join(problems), "fix the addresses (--to, or the account's billing contacts) "
                       "and send those invoices again; the deliveries that worked are recorded")


def _send_one(conn, store, root: Path, loaded, inv, rcpt: list[str], day: date, problems: list[str]) -> list[dict]:
    """Send one invoice and record who got it; a refusal of its recipients is noted and the run goes on."""
    from email.utils import getaddresses

    msg = _message(root, loaded, inv, rcpt, day)
    mid = str(msg["Message-ID"])
    try:
        refused = conn.send(msg)
    except CpqError as e:
        if e.code != "E-SMTP-REFUSED":
            raise  # the session is broken: stop here (what went out is recorded)
        problems.append(f"{inv.invoice}: {e.message}")
        common.info(f"cpqctl: {inv.invoice} not sent: {e.message}")
        return []
    got = [r for r in rcpt if getaddresses([r])[0][1] not in refused]
    for addr, why in sorted(refused.items()):
        problems.append(f"{inv.invoice}: {addr} refused ({why})")
    rel, text, sha = _sent_append(store, inv, day, got, mid)
    try:
        with store.transaction() as tx:  # recorded one by one: a later failure keeps earlier records
            tx.append(rel, text, expect_sha256=sha)
    except Exception as exc:  # delivered but not recorded: say exactly what to add, never lose it silently
        raise CpqError("E-SENT-NOT-RECORDED", f"{inv.invoice} was delivered to {', '.join(got)} (Message-ID "
                       f"{mid}) but recording it in {rel} failed: {exc}",
                       f"append these lines to {rel} by hand, or `--unsent` sends it again:\n{text}") from None
    common.info(f"sent {inv.invoice} to {', '.join(got)}")
    return [{"invoice": inv.invoice, "to": ", ".join(got), "message_id": mid, "date": day.isoformat()}]


def _unsent(loaded, day: date, first: date | None) -> list:
    """Issued invoices without a delivery, dated by ``day`` (and from ``first``), oldest first."""
    return sorted((i for i in loaded.invoices.values()
                   if not i.sent and i.date <= day and (first is None or i.date >= first)),
                  key=lambda i: (i.date, i.invoice))


def _write_eml(names: list[str], unsent: bool, eml: Path, to, day: date, repo, first: date | None) -> None:
    import sys

    from cpqctl.formats import mail
    from cpqctl.store import atomic_write_bytes

    if unsent:
        root, loaded, diags = common.load(repo)
        common.require_clean(diags)
        batch = [(root, loaded, i) for i in _unsent(loaded, day, first)]
    else:
        batch = [_load_invoice(repo, n) for n in names]
    several = unsent or len(batch) > 1
    if several and str(eml) == "-":
        raise UsageError("E-USAGE", "several messages cannot go to stdout", "pass a folder: --eml out/mail")
    for root, loaded, inv in batch:
        rcpt = _recipients(loaded, inv, to)
        msg = _message(root, loaded, inv, rcpt, day, strict=False)
        if mail.PLACEHOLDER in str(msg["From"]):
            common.info(f"note: cpq.toml has no [smtp] from; the message is from {msg['From']} (set [smtp] from)")
        payload = mail.as_bytes(msg)
        if str(eml) == "-":
            sys.stdout.buffer.write(payload)
            continue
        target = (eml / f"{inv.invoice}.eml") if several else eml
        target = target if target.is_absolute() else Path.cwd() / target
        atomic_write_bytes(target, payload)
        common.info(f"wrote {target} (to {', '.join(rcpt)}; not recorded as sent)")
    if not batch:
        common.info(f"no unsent invoices dated on or before {day}")


def _emit_sent(format: str, results: list[dict], day: date) -> None:
    from cpqctl.render.output import emit

    emit(format, {"as_of": day.isoformat(), "sent": results}, ["invoice", "to", "message_id"], results,
         title=f"Invoices sent on {day}")


def register(app: typer.Typer) -> None:
    app.add_typer(invoice_app)
