"""The customer portal's use cases (docs/portal.md): sign-in links, what a customer owns and may change, the price
of a change, the amendment quote and its signature.

The web front end (:mod:`cpqctl.web.portal`) and the CLI (`cpqctl portal`) call these; they never write a file
themselves. What a customer may change is cpq.toml's ``[portal]`` (:class:`Rules`); anything else is refused
here, whatever the form sent.

**Links and sessions.** A sign-in link carries a token signed with HMAC-SHA256 (itsdangerous) over the invite's
ID, account and last valid day; the secret comes from the environment variable ``[portal] secret_env`` names
(never from a file). Invites are recorded in ``.cpq/portal/invites.json`` (written under the repository lock,
atomically) so that one can be revoked: a revoked or expired invite refuses its link and every session made from
it at the next request. Changing the secret revokes every link and session at once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from cpqctl.app.workspace import Workspace, lookup
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.model import SignatureRecord
from cpqctl.core.numbering import file_stem

INVITES = ".cpq/portal/invites.json"
DEFAULT_SECRET_ENV = "CPQ_PORTAL_SECRET"
MIN_SECRET = 32
CONSENT = (
    "I have read the amendment document and I sign it electronically on behalf of {name}; "
    "I agree that this is a binding acceptance of its terms."
)


@dataclass(frozen=True)
class Rules:
    """cpq.toml ``[portal]``: what a customer may change without the team."""

    seats: tuple[str, ...] = ()
    addons: tuple[str, ...] = ()
    decreases: bool = False
    max_quantity: int = 1000
    link_days: int = 7
    url: str = "http://127.0.0.1:8000/"
    secret_env: str = DEFAULT_SECRET_ENV

    @classmethod
    def of(cls, settings) -> Rules:
        p: Mapping = settings.portal
        return cls(
            seats=tuple(x for x in str(p.get("seats", "")).split(",") if x),
            addons=tuple(x for x in str(p.get("addons", "")).split(",") if x),
            decreases=bool(p.get("decreases", False)),
            max_quantity=int(p.get("max_quantity", 1000)),
            link_days=int(p.get("link_days", 7)),
            url=str(p.get("url", cls.url)),
            secret_env=str(p.get("secret_env", DEFAULT_SECRET_ENV)),
        )

    def changeable(self, product: str) -> bool:
        return product in self.seats or product in self.addons


def secret(settings, environ: Mapping[str, str] = os.environ) -> bytes:
    """The signing secret from the environment (E-PORTAL-SECRET when it is missing or shorter than 32 characters)."""
    name = Rules.of(settings).secret_env
    value = environ.get(name, "")
    if len(value) < MIN_SECRET:
        raise CpqError(
            "E-PORTAL-SECRET",
            f"the portal's secret is {'too short' if value else 'not set'}: the environment variable {name} "
            f"must hold at least {MIN_SECRET} characters",
            f"e.g. export {name}=\"$(python -c 'import secrets; print(secrets.token_urlsafe(32))')\"",
        )
    return value.encode("utf-8")


# --------------------------------------------------------------------------- invites


@dataclass(frozen=True)
class Invite:
    invite: str
    account: str
    email: str | None
    issued: str
    expires: str  # the last day the link signs in
    revoked: str | None = None

    def valid_on(self, day: date) -> bool:
        return self.revoked is None and day <= date.fromisoformat(self.expires)

    def json(self) -> dict:
        return {
            "invite": self.invite,
            "account": self.account,
            "email": self.email,
            "issued": self.issued,
            "expires": self.expires,
            "revoked": self.revoked,
        }


def read_invites(root: Path) -> list[Invite]:
    path = root / INVITES
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise CpqError(
            "E-PORTAL-INVITES", f"{INVITES} cannot be read: {exc}", "restore it from a backup; nothing was changed"
        ) from None
    return [Invite(**row) for row in data.get("invites", [])]


def _write_invites(root: Path, invites: Sequence[Invite]) -> None:
    """Replace the invites file, atomically and durably: a revocation must survive a crash."""
    from cpqctl.store import replace_file

    path = root / INVITES
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"invites": [i.json() for i in invites]}, indent=1) + "\n"
    replace_file(path, payload.encode("utf-8"), durable=True, private=True)


def _serializer(key: bytes, purpose: str):
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(key, salt=f"cpqctl-portal-{purpose}")


@dataclass(frozen=True)
class InviteResult:
    invite: Invite
    link: str
    sent_to: tuple[str, ...] = ()
    message: str = ""

    @property
    def data(self) -> dict:
        return {**self.invite.json(), "link": self.link, "sent_to": list(self.sent_to)}


def invite(
    ws: Workspace,
    account: str,
    *,
    email: str | None = None,
    days: int | None = None,
    send: bool = False,
    as_of: date | None = None,
) -> InviteResult:
    """Issue a sign-in link for ``account``, valid ``days`` (default ``[portal] link_days``) from the as-of day;
    with ``send``, e-mail it through ``[smtp]`` to ``email`` (default: the account's billing contact)."""
    from cpqctl.formats import mail

    day = ws.day(as_of)
    repo, _ = ws.account_context(account)
    acct = lookup(repo.accounts, account, "account", "E-UNKNOWN-ACCOUNT", "`cpqctl account list` lists them")
    rules = Rules.of(repo.settings)
    key = secret(repo.settings)
    days = rules.link_days if days is None else days
    if not 1 <= days <= 90:
        raise UsageError("E-USAGE", f"--days {days}: a link is valid 1 to 90 days", "e.g. --days 7")
    if email is not None and (problem := mail.address_problem(email)):
        raise UsageError("E-USAGE", f"--email {email!r}: {problem}", "give one address, e.g. anna@example.com")
    to = [email] if email else (mail.billing_recipients(acct) if send else [])
    if send and not to:
        raise UsageError(
            "E-NO-RECIPIENT", f"account {account} has no billing contact with an e-mail address", "give --email ADDR"
        )
    with ws.store().lock():
        invites = read_invites(ws.root)
        new = Invite(
            f"I-{len(invites) + 1:04d}",
            acct.account,
            to[0] if to else email,
            day.isoformat(),
            (day + timedelta(days=days - 1)).isoformat(),
        )
        token = _serializer(key, "invite").dumps([new.invite, new.account, new.expires])
        link = rules.url.rstrip("/") + "/portal/login?t=" + token
        if send:
            _send_link(repo.settings, acct, to, link, new, day)
        _write_invites(ws.root, [*invites, new])
    what = f"; e-mailed to {', '.join(to)}" if send else ""
    return InviteResult(
        new, link, tuple(to) if send else (), f"invite {new.invite} for {account} until {new.expires}{what}"
    )


def _send_link(settings, acct, to: list[str], link: str, inv: Invite, day: date) -> None:
    from email.message import EmailMessage

    from cpqctl.formats import mail

    cfg = mail.smtp_config(settings)
    msg = EmailMessage()
    msg["From"] = mail.sender(settings)
    msg["To"] = ", ".join(to)
    msg["Subject"] = f"Your customer portal: {settings.company_name or 'sign in'}"
    msg["Message-ID"] = mail.message_id(inv.invite, to, msg["From"], day)
    msg.set_content(
        f"Hello,\n\nsign in to see what {acct.name} has and to change it:\n\n{link}\n\n"
        f"The link is yours alone and works until {inv.expires}. If you did not expect it, ignore this message.\n",
        charset="utf-8",
    )
    with mail.Connection(cfg) as conn:
        conn.send(msg)


def revoke(ws: Workspace, *, invite_id: str | None = None, account: str | None = None, as_of: date | None = None):
    """Revoke one invite, or every invite of ``account``: their links and sessions stop at the next request."""
    day = ws.day(as_of)
    if (invite_id is None) == (account is None):
        raise UsageError("E-USAGE", "give an invite ID or --account", "`cpqctl portal list` shows them")
    with ws.store().lock():
        invites = read_invites(ws.root)
        hit = [i for i in invites if i.invite == invite_id or (account is not None and i.account == account)]
        if not hit:
            raise UsageError(  # an ID typed on the command line that names nothing: exit 2
                "E-UNKNOWN-INVITE",
                f"no invite {invite_id or 'of account ' + str(account)}",
                "`cpqctl portal list` shows the invites",
            )
        ids = {i.invite for i in hit if i.revoked is None}
        out = [Invite(**{**i.json(), "revoked": day.isoformat()}) if i.invite in ids else i for i in invites]
        _write_invites(ws.root, out)
    return sorted(ids)


@dataclass(frozen=True)
class Session:
    """Who is signed in: a customer of ``account`` through ``invite``; ``csrf`` is the token every form carries."""

    invite: str
    account: str
    csrf: str


def sign_in(root: Path, settings, token: str, day: date) -> tuple[Session, str]:
    """The session a sign-in link opens, and its cookie value; refused (E-PORTAL-LINK) when the link is forged,
    expired or revoked."""
    import secrets

    from itsdangerous import BadSignature

    key = secret(settings)
    try:
        invite_id, account, _ = _serializer(key, "invite").loads(token)
    except (BadSignature, ValueError, TypeError):
        raise _bad_link() from None
    inv = _valid_invite(root, invite_id, account, day)
    session = Session(inv.invite, inv.account, secrets.token_urlsafe(24))
    return session, _serializer(key, "session").dumps([session.invite, session.account, session.csrf])


def session_of(root: Path, settings, cookie: str | None, day: date) -> Session | None:
    """The session a cookie holds while its invite is valid (None: no session, a forged one, or one revoked or
    expired since)."""
    from itsdangerous import BadSignature

    if not cookie:
        return None
    try:
        invite_id, account, csrf = _serializer(secret(settings), "session").loads(cookie)
        _valid_invite(root, invite_id, account, day)
    except (BadSignature, ValueError, TypeError, CpqError):
        return None
    return Session(invite_id, account, csrf)


def _valid_invite(root: Path, invite_id: str, account: str, day: date) -> Invite:
    inv = next((i for i in read_invites(root) if i.invite == invite_id), None)
    if inv is None or inv.account != account or not inv.valid_on(day):
        raise _bad_link()
    return inv


def _bad_link() -> CpqError:
    return CpqError(
        "E-PORTAL-LINK",
        "this sign-in link is not valid: it may have expired or been revoked",
        "ask your account manager for a new link",
    )


# --------------------------------------------------------------------------- what the customer owns


@dataclass(frozen=True)
class Item:
    """One product the customer may see on a contract: licences (a quantity) or an add-on (on or off)."""

    product: str
    name: str
    quantity: Decimal
    addon: bool
    changeable: bool


@dataclass(frozen=True)
class ContractView:
    contract: str
    status: str
    start: str
    end: str | None
    currency: str
    items: tuple[Item, ...]
    changeable: bool


@dataclass(frozen=True)
class Overview:
    account: str
    name: str
    currency: str
    contracts: tuple[ContractView, ...]
    invoices: tuple[dict, ...]
    quotes: tuple[dict, ...]
    next_renewal: str | None
    rules: Rules = field(default_factory=Rules)

    @property
    def licences(self) -> Decimal:
        """Licences held on every active contract: the quantities of ``[portal] seats`` products."""
        return sum(
            (
                i.quantity
                for c in self.contracts
                if c.status == "active"
                for i in c.items
                if i.product in self.rules.seats
            ),
            Decimal(0),
        )


def overview(ws: Workspace, account: str, *, as_of: date | None = None) -> Overview:
    """What ``account`` owns on the day, per contract (licences, add-ons on and off), its invoices and the amendment
    quotes waiting for its signature. Reads only that account's files."""
    from cpqctl.core import ledger

    day = ws.day(as_of)
    shown = ws.account(account, as_of=day).data
    repo, _ = ws.account_context(account, invoices=True)
    rules = Rules.of(repo.settings)
    views = []
    for c in sorted(repo.contracts.values(), key=lambda c: c.start):
        if c.account != account:
            continue
        status = ledger.status(c, day)
        held = {o.product: o.quantity for o in ledger.owned(c, day)}
        codes = [*held, *(a for a in rules.addons if a not in held and a in repo.catalog.products)]
        items = tuple(
            Item(
                code,
                repo.catalog.products[code].name if code in repo.catalog.products else code,
                held.get(code, Decimal(0)),
                code in rules.addons,
                rules.changeable(code) and status == "active",
            )
            for code in codes
        )
        end = ledger.current_end(c)
        views.append(
            ContractView(
                c.contract,
                status,
                c.start.isoformat(),
                end.isoformat() if end else None,
                c.currency,
                items,
                status == "active" and any(i.changeable for i in items),
            )
        )
    invoices = _invoice_rows(repo, account)
    mine = tuple(
        {"quote": q.quote, "contract": q.contract, "date": q.date.isoformat()}
        for q in _account_quotes(ws, account, repo.settings, day)
    )
    return Overview(
        account,
        shown["name"],
        shown["currency"],
        tuple(views),
        invoices,
        mine,
        shown.get("next_renewal"),
        rules,
    )


def _invoice_rows(repo, account: str) -> tuple[dict, ...]:
    """The account's invoices, newest first, as its pages list them."""
    return tuple(
        {
            "number": i.invoice,
            "date": i.date.isoformat(),
            "contract": i.contract,
            "currency": i.currency,
            "gross": str(i.gross_total),
        }
        for i in sorted(repo.invoices.values(), key=lambda i: (i.date, i.invoice), reverse=True)
        if i.account == account
    )


def invoice_of(ws: Workspace, account: str, stem: str) -> str | None:
    """The number of ``account``'s invoice whose file stem is ``stem`` (None: no invoice of this account's);
    reads only the account's files and its invoices."""
    repo, _ = ws.account_context(account, invoices=True)
    from cpqctl.core.numbering import file_stem

    return next((r["number"] for r in _invoice_rows(repo, account) if file_stem(r["number"]) == stem), None)


def _account_quotes(ws: Workspace, account: str, settings, day: date):
    """The account's amendment quotes waiting for a signature: neither accepted nor expired."""
    from cpqctl.core.quotes import quote_status

    repo = ws.read(frozenset({"quote"}))
    return sorted(
        (
            q
            for q in repo.quotes.values()
            if q.account == account and q.kind == "amendment" and quote_status(q, None, settings, day) == "draft"
        ),
        key=lambda q: q.quote,
    )


# --------------------------------------------------------------------------- a change and its price


@dataclass(frozen=True)
class Change:
    """A customer's change of one contract: the quantities wanted, checked against ``[portal]``."""

    contract: str
    wanted: tuple[tuple[str, Decimal], ...]
    needs_team: tuple[str, ...] = ()  # why the team must look at it (a decrease, more than the maximum)


def check_change(ws: Workspace, account: str, contract: str, wanted: Mapping[str, str], day: date):
    """The contract (the customer's own, active) and the changes wanted, refused unless ``[portal]`` allows them.

    ``wanted``: product → quantity text as the form sent it. Returns ``(repo, contract, changes)``; a product not
    offered, a quantity that is not a whole number from 0 to ``max_quantity``, an add-on other than 0 or 1 is
    E-PORTAL-CHANGE; a decrease without ``decreases`` is E-PORTAL-REQUEST (for the team).
    """
    from cpqctl.core import ledger
    from cpqctl.core.amendments import Change as Amend
    from cpqctl.core.model import Source

    repo, _ = ws.one_contract(contract)
    c = repo.contracts.get(contract)
    if c is None or c.account != account:  # another account's contract is no contract of this customer's
        raise CpqError("E-UNKNOWN-CONTRACT", f"no contract {contract}", "")
    if ledger.status(c, day) != "active":
        raise _refuse(f"contract {contract} is not active on {day}")
    rules = Rules.of(repo.settings)
    changes, requests = [], []
    for product, text in wanted.items():
        if not rules.changeable(product) or product not in repo.catalog.products:
            raise _refuse(f"{product} cannot be changed here")
        qty = _quantity(text, rules, product)
        now = ledger.quantity_on(c, product, day)
        if qty == now:
            continue
        if qty < now and not rules.decreases:
            requests.append(f"{product} {now} → {qty}")
        changes.append(Amend("set", product, qty, Source("(portal)")))
    if requests:
        raise CpqError(
            "E-PORTAL-REQUEST",
            "lowering a quantity or switching an add-on off needs your account manager: " + "; ".join(requests),
            "contact your account manager",
        )
    if not changes:
        raise CpqError("E-NO-CHANGE", "nothing changes: every quantity is as it is now", "change a quantity first")
    return repo, c, changes


def request_change(ws: Workspace, account: str, contract: str, wanted: Mapping[str, str], *, as_of: date | None = None):
    """Record a change the customer may not make alone (a decrease, an add-on off) as a request the team sees in
    `cpqctl portal log`; nothing else changes. Returns what was asked."""
    day = ws.day(as_of)
    try:
        check_change(ws, account, contract, wanted, day)
    except CpqError as e:
        if e.code != "E-PORTAL-REQUEST":
            raise
        asked = e.message.split(": ", 1)[1]
        log(
            ws.root,
            {"kind": "request", "account": account, "contract": contract, "date": day.isoformat(), "asked": asked},
        )
        return asked
    raise CpqError("E-PORTAL-CHANGE", "this change needs no request: show its price and sign it", "")


def _quantity(text: str, rules: Rules, product: str) -> Decimal:
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 7):
        raise _refuse(f"{product}: {text[:20]!r} is not a whole number")
    qty = Decimal(int(text))
    top = 1 if product in rules.addons else rules.max_quantity
    if qty > top:
        raise _refuse(f"{product}: at most {top}" + ("" if top == 1 else "; for more, contact your account manager"))
    return qty


def _refuse(why: str) -> CpqError:
    return CpqError("E-PORTAL-CHANGE", why, "")


@dataclass(frozen=True)
class Price:
    """What a change costs: `invoice preview --quote`'s JSON for the draft, and the quote's own total."""

    contract: str
    preview: dict
    net_total: str


def price_change(
    ws: Workspace, account: str, contract: str, wanted: Mapping[str, str], *, as_of: date | None = None
) -> Price:
    """The price of a change, effective on the day, before anything is written: the draft `amend` would write,
    previewed by the same code as `invoice preview --quote` (reads only this contract's files)."""
    from cpqctl.app.amend import change_draft
    from cpqctl.app.invoicing import amendment_preview
    from cpqctl.core.money import money_str

    day = ws.day(as_of)
    repo, c, changes = check_change(ws, account, contract, wanted, day)
    draft, priced = change_draft(repo, c, changes, day, day)
    return Price(contract, amendment_preview(repo, c, draft, priced, day), money_str(priced.net_total, c.currency))


@dataclass(frozen=True)
class Offered:
    quote: str
    contract: str
    document: Path


def offer_change(
    ws: Workspace, account: str, contract: str, wanted: Mapping[str, str], *, as_of: date | None = None
) -> Offered:
    """Write the amendment quote of a change (`amend`, effective on the day) and its PDF (`quote render`, which
    records what was presented): the document the customer signs."""
    from cpqctl.app import quotes
    from cpqctl.app.amend import amend

    day = ws.day(as_of)
    _, _, changes = check_change(ws, account, contract, wanted, day)
    qid = amend(ws, contract, effective=day, changes=changes, as_of=day).quote.quote
    doc = quotes.render_quote(ws, qid, fmt="pdf", as_of=day)
    assert doc.path is not None
    return Offered(qid, contract, doc.path)


def offered_quote(ws: Workspace, account: str, quote_id: str, *, as_of: date | None = None):
    """An amendment quote of ``account`` waiting for its signature, its preview, its document's digest and the
    declaration the signer ticks (E-UNKNOWN-QUOTE for anything else: another account's quote is no quote of
    this customer's)."""
    from cpqctl.app.invoicing import preview_invoices

    day = ws.day(as_of)
    q = own_quote(ws, account, quote_id)
    if q.status == "accepted":
        raise CpqError("E-ACCEPTED", f"quote {quote_id} is accepted", "")
    preview = preview_invoices(ws, q.contract or "", quote=q.quote, as_of=day).data
    return q, preview, document_digest(ws.root / "out" / f"{q.quote}.pdf"), consent_text(ws, account, as_of=day)


def consent_text(ws: Workspace, account: str, *, as_of: date | None = None) -> str:
    """The declaration a signer of ``account`` ticks, naming the company (read from its account file only)."""
    return CONSENT.format(name=ws.account(account, as_of=ws.day(as_of)).data["name"])


def own_quote(ws: Workspace, account: str, quote_id: str):
    repo = ws.quote_context(quote_id) if _quote_file(ws, quote_id) else None
    q = repo.quotes.get(quote_id) if repo is not None else None
    if q is None or q.account != account or q.kind != "amendment":
        raise CpqError("E-UNKNOWN-QUOTE", f"no quote {quote_id}", "")
    return q


def _quote_file(ws: Workspace, quote_id: str) -> bool:
    from cpqctl.load.schema import ID_RE

    return ID_RE.fullmatch(quote_id) is not None and (ws.root / "quotes" / f"{quote_id}.yaml").is_file()


def document_digest(path: Path) -> str | None:
    try:
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


# --------------------------------------------------------------------------- signing


class SignatureProvider(Protocol):
    """How the portal takes a signature (docs/portal.md#the-signature-record): :class:`SimpleSignature` by default;
    an adapter to a qualified trust service provider implements the same call — it receives the document and the
    signer's details, has the provider sign, and returns the record to keep (``method`` naming the provider,
    ``document`` the digest of what was signed)."""

    def sign(
        self, *, document: bytes, name: str, consent: str, ip: str, user_agent: str, at: str
    ) -> SignatureRecord: ...


class SimpleSignature:
    """A simple electronic signature (eIDAS art. 3(10)): the typed name, the ticked declaration, when, from where,
    and the digest of the document shown."""

    def sign(self, *, document: bytes, name: str, consent: str, ip: str, user_agent: str, at: str) -> SignatureRecord:
        return SignatureRecord(
            name=name,
            at=at,
            ip=ip,
            user_agent=user_agent,
            consent=consent,
            document="sha256:" + hashlib.sha256(document).hexdigest(),
        )


@dataclass(frozen=True)
class SignResult:
    """A signed amendment: the acceptance, what provisioning did, the invoice issued and to whom it went."""

    quote: str
    contract: str
    amendment: str
    signature: SignatureRecord
    written: tuple[str, ...]
    provisioning: tuple[str, ...]
    invoices: tuple[str, ...]
    sent_to: tuple[str, ...]
    problems: tuple[str, ...]
    commit: str | None = None
    queued: bool = False  # provisioning failed and waits in the outbox for a retry

    @property
    def data(self) -> dict:
        s = self.signature
        return {
            "quote": self.quote,
            "contract": self.contract,
            "amendment": self.amendment,
            "signed": {"by": s.name, "at": s.at, "ip": s.ip, "user_agent": s.user_agent, "document": s.document},
            "written": list(self.written),
            "provisioning": list(self.provisioning),
            "provisioning_queued": self.queued,
            "invoices": list(self.invoices),
            "sent_to": list(self.sent_to),
            "problems": list(self.problems),
            "commit": self.commit,
        }


def sign(
    ws: Workspace,
    account: str,
    quote_id: str,
    *,
    name: str,
    consent: bool,
    document: str,
    ip: str,
    user_agent: str,
    at: str,
    as_of: date | None = None,
    provider: SignatureProvider | None = None,
) -> SignResult:
    """Sign amendment quote ``quote_id`` for ``account`` and carry it out, each step recorded before the next:

    1. accept it (`quote accept`) with the signature record in `signed:` (refused without ``consent``, without a
       name, or when the document shown — ``document``, its digest — is not the one on file);
    2. commit the written files when the repository is a git repository (the signer named in the message);
    3. provision (:func:`cpqctl.app.provisioning.provision`): a failure is queued for a retry, never undone;
    4. issue the invoice due on acceptance (`invoice run --contract`) and e-mail it (`invoice send`), unless it
       must go through KSeF first; what could not be done is in ``problems`` for the team.
    """
    from cpqctl.app import provisioning
    from cpqctl.app.invoicing import run_invoices

    day = ws.day(as_of)
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise UsageError("E-PORTAL-SIGN", "type your full name to sign", "")
    if not consent:
        raise UsageError("E-PORTAL-SIGN", "tick the declaration to sign", "")
    q = own_quote(ws, account, quote_id)
    try:
        pdf = (ws.root / "out" / f"{q.quote}.pdf").read_bytes()
    except OSError:
        pdf = b""
    if "sha256:" + hashlib.sha256(pdf).hexdigest() != document or not pdf:
        raise CpqError(
            "E-DOCUMENT-CHANGED",
            f"the document of {quote_id} is not the one you were shown",
            "open the quote again, read the document, and sign that",
        )
    record = (provider or SimpleSignature()).sign(
        document=pdf,
        name=name,
        consent=consent_text(ws, account, as_of=day),
        ip=ip[:64],
        user_agent=" ".join(user_agent.split())[:300],
        at=at,
    )
    accepted = ws.accept_quote(quote_id, record, signed_on=day, as_of=day)
    written = list(accepted.written)
    commit = _commit(ws.root, written, f"portal: {name} signed {quote_id} for {account} ({accepted.contract})", name)
    problems: list[str] = []
    done = provisioning.provision(ws, account, f"{accepted.contract} {accepted.amendment}", as_of=day)
    if done.problem:
        problems.append(done.problem)
    invoices: tuple[str, ...] = ()
    sent: tuple[str, ...] = ()
    try:
        run = run_invoices(ws, through=day, as_of=day, contracts=[accepted.contract])
        invoices = tuple(n for n in run.numbers if n)
    except CpqError as e:
        problems.append(f"invoice not issued: {e.message}")
    if invoices:
        sent, problem = _send(ws, invoices, day)
        if problem:
            problems.append(problem)
        issued = sorted(  # the invoice and the documents kept with it (PDF, Markdown, the KSeF XML)
            p.relative_to(ws.root).as_posix()
            for n in invoices
            for p in (ws.root / "invoices").glob(f"{file_stem(n)}.*")
        )
        _commit(
            ws.root,
            issued,
            f"portal: {', '.join(invoices)} issued for {account}" + (" and e-mailed" if sent else ""),
            name,
        )
    result = SignResult(
        quote_id,
        accepted.contract,
        accepted.amendment or "",
        record,
        tuple(written),
        done.steps,
        invoices,
        sent,
        tuple(problems),
        commit,
        done.problem is not None,
    )
    log(ws.root, {"kind": "signed", "account": account, **result.data})
    return result


LOG = ".cpq/portal/log.jsonl"


def log(root: Path, entry: dict) -> None:
    """Append ``entry`` to the portal's log (`cpqctl portal log`): what customers signed and asked for, and what
    could not be done for them (an invoice not e-mailed, a hook that failed), for the team."""
    path = root / LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")


def read_log(root: Path) -> list[dict]:
    try:
        lines = (root / LOG).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _send(ws: Workspace, invoices: tuple[str, ...], day: date) -> tuple[tuple[str, ...], str | None]:
    """E-mail the invoices issued on signing; one that must go through KSeF first is submitted first when cpq.toml
    has [ksef] (`invoice submit`), else it waits for the team (a problem, not an error)."""
    from cpqctl.app.einvoicing import submit_invoices
    from cpqctl.app.invoicing import send_invoices

    names = ", ".join(invoices)
    try:
        try:
            result = send_invoices(ws, invoices, as_of=day)
        except CpqError as e:
            if e.code != "E-KSEF-NOT-SUBMITTED" or not ws.read(frozenset()).settings.ksef:
                raise
            submit_invoices(ws, invoices, as_of=day)
            result = send_invoices(ws, invoices, as_of=day)
    except CpqError as e:
        return (), f"invoice {names} issued, not e-mailed: {e.message}"
    to = tuple(sorted({a.strip() for d in result.deliveries for a in d["to"].split(",")}))
    return to, (result.error.message if result.error else None)


def _commit(root: Path, files: Sequence[str], message: str, signer: str) -> str | None:
    """Commit ``files`` (only them) when ``root`` is a git work tree; None otherwise or when git refuses."""
    import subprocess

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)

    try:
        if git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
            return None
        if git("add", "--", *files).returncode:
            return None
        # the repository's own committer; a server account without one commits as the portal
        who = (
            []
            if git("config", "user.email").stdout.strip()
            else ["-c", "user.name=cpqctl portal", "-c", "user.email=portal@cpqctl.invalid"]
        )
        done = subprocess.run(
            ["git", "-C", str(root), *who, "commit", "-q", "-m", message, "-m", f"Signed-by: {signer}", "--", *files],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            return None
        return git("rev-parse", "HEAD").stdout.strip() or None
    except OSError:  # no git installed
        return None
