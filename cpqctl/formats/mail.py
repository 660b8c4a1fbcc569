"""Invoice e-mail: an RFC 5322 message (plain-text body + the invoice PDF) and its SMTP delivery.

The message is deterministic so that the .eml written by `invoice send --eml`
is byte-identical between runs (SPEC §4): its ``Date`` is the --as-of date
(midnight UTC), its ``Message-ID`` and MIME boundary are hashes of the invoice
number and the recipients. Delivery uses the standard library's ``smtplib``
(STARTTLS with the system's certificate store, which honours ``SSL_CERT_FILE``)
and turns every network failure into a :class:`CpqError`; the caller records a
delivery only after the server accepted the message.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr

from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.numbering import file_stem

TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    starttls: bool
    user: str
    password: str | None
    sender: str  # the From: header


PLACEHOLDER = "billing@example.invalid"  # RFC 2606: a name that can never be delivered to


def sender(settings, strict: bool = True) -> str:
    """The From: header: cpq.toml [smtp] from, else the SMTP user under the company name.

    Not ``strict`` (an .eml file, nothing is sent): without either, a
    placeholder address under the company name, so that a new repository
    can write its first message before it has a mail server.
    """
    s = settings.smtp
    if s.get("from"):
        return str(s["from"])
    from email.headerregistry import Address

    user = str(s.get("user") or "")
    if "@" in user and address_problem(user) is None:  # the display name quoted as RFC 5322 needs (a comma…)
        return str(Address(settings.company_name or "", addr_spec=user))
    if not strict:
        return str(Address(settings.company_name or "", addr_spec=PLACEHOLDER))
    raise UsageError(
        "E-SMTP-FROM",
        "cpq.toml [smtp] names no sender address",
        'add `from = "Billing <billing@example.com>"` under [smtp] in cpq.toml',
        src=settings.src,
    )


def smtp_config(settings, environ: Mapping[str, str] = os.environ) -> SmtpConfig:
    """[smtp] from cpq.toml with SPEC's defaults (port 587, STARTTLS on); the password from its variable."""
    s = settings.smtp
    host = str(s.get("host") or "")
    if not host:
        raise UsageError(
            "E-SMTP-CONFIG",
            "cpq.toml has no [smtp] host to send through",
            "add [smtp] host/port/user/password_env to cpq.toml, or write the message to a file with --eml FILE",
            src=settings.src,
        )
    password = None
    var = str(s.get("password_env") or "")
    if var:
        password = environ.get(var)
        if password is None:
            raise UsageError(
                "E-SMTP-PASSWORD",
                f"the SMTP password variable {var} is not set",
                f"export {var}=… (cpq.toml [smtp] password_env names it)",
                src=settings.src,
            )
    return SmtpConfig(
        host=host,
        port=int(s.get("port", 587)),
        starttls=bool(s.get("starttls", True)),
        user=str(s.get("user") or ""),
        password=password,
        sender=sender(settings),
    )


def billing_recipients(account) -> list[str]:
    """The account's billing contacts' addresses; without any, its first contact with an address."""
    billing = [c.email for c in account.contacts if c.email and c.role == "billing"]
    if billing:
        return billing
    return [c.email for c in account.contacts if c.email][:1]


# --------------------------------------------------------------------------- addresses
#
# The one definition of an e-mail address in cpqctl (account contacts, `invoice send --to`, cpq.toml
# [smtp] from): an RFC 5322 addr-spec ``local@domain`` as the standard library's ``email`` package
# parses it, on one line (no CR, LF or other control character: a line break in a header is a header
# injection), with an ASCII local part (a non-ASCII one needs SMTPUTF8, which few servers offer) and a
# domain name that the ``idna`` codec encodes (``bücher.example`` → ``xn--bcher-kva.example``) into
# letter-digit-hyphen labels. A mailbox (``Name <local@domain>``) is that address with a display name.

ADDRESS_HINT = "write one address as local@domain, e.g. anna.nowak@acme.example"
MAILBOX_HINT = "write one address as local@domain or Name <local@domain>, e.g. Billing <billing@example.com>"
_LDH_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")


def _control(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


def shown(text: str) -> str:
    """``text`` for a message: control characters escaped (``\\r\\n``), so an error never breaks its line."""
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)


def address_problem(text: str) -> str | None:
    """Why ``text`` is not an addr-spec ``local@domain`` (None: it is one)."""
    from email.errors import HeaderParseError
    from email.headerregistry import Address

    if _control(text):
        return "it holds a line break or another control character"
    try:
        parsed = Address(addr_spec=text)
    except (ValueError, IndexError, HeaderParseError):  # the parser's refusals (IndexError: a bare `user@`)
        return "it is not of the form local@domain"
    if parsed.addr_spec != text or not parsed.username or not parsed.domain:
        return "it is not of the form local@domain (no display name, comment or spaces)"
    if not parsed.username.isascii():
        return "its local part (before @) is not ASCII"
    domain = parsed.domain
    if domain.startswith("["):
        return "its domain is an address literal, not a domain name"
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return f"its domain `{domain}` is not a valid domain name (IDNA)"
    if len(ascii_domain) > 253 or not all(_LDH_LABEL.fullmatch(label) for label in ascii_domain.split(".")):
        return f"its domain `{domain}` is not a valid domain name"
    return None


def mailbox_problem(text: str) -> str | None:
    """Why ``text`` is neither ``local@domain`` nor ``Display Name <local@domain>`` (None: it is one of them)."""
    if _control(text):
        return "it holds a line break or another control character"
    parsed = getaddresses([text])
    if len(parsed) != 1:
        return "it is not one address"
    why = address_problem(parsed[0][1])
    if why is None and "<" not in text and parsed[0][1] != text.strip():  # `a@b.c (comment)`, `a b@c.d`
        return "it is not of the form local@domain or Name <local@domain>"
    return why


def check_addresses(addresses: Sequence[str]) -> list[str]:
    """The addresses, each ``name <user@host>`` or ``user@host``; a malformed one is a usage error (E-EMAIL)."""
    out = []
    for text in addresses:
        why = mailbox_problem(text)
        if why is not None:
            raise UsageError(
                "E-EMAIL", f"`{shown(text)}` is not an e-mail address: {why}", "e.g. --to anna.nowak@acme.example"
            )
        out.append(text)
    return out


def _domain(address: str) -> str:
    addr = parseaddr(address)[1]
    return addr.rpartition("@")[2] or "cpqctl.invalid"


def message_id(invoice: str, to: Sequence[str], from_: str, day: date) -> str:
    """Derived from the invoice, its recipients and the day: deterministic (the same run writes the same
    .eml), yet a reminder sent on another day is a new message (mail services drop a repeated ID)."""
    digest = hashlib.sha256("\n".join([invoice, day.isoformat(), *to]).encode("utf-8")).hexdigest()[:20]
    return f"<{invoice}.{digest}@{_domain(from_)}>"


def build(
    *, invoice: str, to: Sequence[str], from_: str, subject: str, body: str, pdf: bytes, day: date
) -> EmailMessage:
    """The message: ``body`` as text/plain UTF-8 and ``<invoice>.pdf`` attached."""
    msg = EmailMessage()
    mid = message_id(invoice, to, from_, day)
    msg["From"] = from_
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC))
    msg["Message-ID"] = mid
    msg.set_content(body, charset="utf-8")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{file_stem(invoice)}.pdf")
    msg.set_boundary("=_cpqctl_" + hashlib.sha256(mid.encode("utf-8")).hexdigest()[:24])
    return msg


def as_bytes(msg: EmailMessage) -> bytes:
    """RFC 5322 wire form: CRLF line ends, long lines folded."""
    from email import policy

    return msg.as_bytes(policy=policy.SMTP)


class Connection:
    """One SMTP session for a batch of messages (``with Connection(cfg) as c: c.send(msg)``)."""

    def __init__(self, cfg: SmtpConfig):
        self.cfg = cfg
        self._smtp = None

    def __enter__(self) -> Connection:
        import smtplib
        import ssl

        cfg = self.cfg
        where = f"{cfg.host}:{cfg.port}"
        try:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=TIMEOUT_SECONDS)
        except OSError as exc:
            raise CpqError(
                "E-SMTP-CONNECT",
                f"cannot reach the SMTP server {where}: {_reason(exc)}",
                "check cpq.toml [smtp] host and port, or write the message with --eml FILE",
            ) from None
        try:
            smtp.ehlo()
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if cfg.password is not None:
                smtp.login(cfg.user, cfg.password)
        except smtplib.SMTPAuthenticationError as exc:
            _quit(smtp)
            raise CpqError(
                "E-SMTP-AUTH",
                f"the SMTP server {where} refused the login of {cfg.user!r}: {_reason(exc)}",
                "check cpq.toml [smtp] user and the password variable",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            _quit(smtp)
            raise CpqError(
                "E-SMTP",
                f"the SMTP server {where} does not support {_reason(exc)}",
                "set starttls = false in cpq.toml [smtp] only for a server on a trusted network, "
                "or use the server's submission port",
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            _quit(smtp)
            raise CpqError(
                "E-SMTP",
                f"SMTP session with {where} failed: {_reason(exc)}",
                "check cpq.toml [smtp] (host, port, starttls) and the server's certificate",
            ) from None
        self._smtp = smtp
        return self

    def send(self, msg: EmailMessage) -> dict[str, str]:
        """Deliver ``msg``; returns the recipients the server refused (the others got it).

        Every recipient refused, or the session failing, raises: then nobody got it.
        """
        import smtplib

        from_addr = parseaddr(str(msg["From"]))[1]
        to_addrs = [addr for _, addr in getaddresses([str(msg["To"])])]
        try:
            refused = self._smtp.send_message(msg, from_addr=from_addr, to_addrs=to_addrs)
        except smtplib.SMTPRecipientsRefused as exc:
            raise CpqError(
                "E-SMTP-REFUSED",
                f"the SMTP server refused every recipient of {msg['Subject']}: " + ", ".join(sorted(exc.recipients)),
                "check the address (--to, or the account's billing contact)",
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise CpqError(
                "E-SMTP",
                f"sending {msg['Subject']} failed: {_reason(exc)}",
                "nothing was recorded for this invoice; run the command again",
            ) from None
        return {addr: _reason(smtplib.SMTPResponseException(code, text)) for addr, (code, text) in refused.items()}

    def __exit__(self, *exc) -> None:
        if self._smtp is not None:
            _quit(self._smtp)


def _quit(smtp) -> None:
    try:
        smtp.quit()
    except Exception:  # the session is over either way
        smtp.close()


def _reason(exc: BaseException) -> str:
    import smtplib

    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"
    return str(exc) or type(exc).__name__
