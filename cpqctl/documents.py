"""Template data for documents, and writing them (Markdown or PDF) atomically.

The data dicts are the interface of the Jinja templates (built-in ones in
``cpqctl/templates/``, overridable per repo in ``templates/``).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from cpqctl.model import Quote, Repo
from cpqctl.money import fmt_percent, round_places


def company(repo: Repo) -> dict:
    s = repo.settings
    return {"name": s.company_name, "address": s.company_address, "tax_id": s.company_tax_id,
            "locale": s.locale, "currency": s.currency}


def account_block(repo: Repo, account_id: str) -> dict:
    a = repo.accounts[account_id]
    return {"account": a.account, "name": a.name, "address": a.address or None, "tax_id": a.tax_id or None,
            "contacts": [{"name": c.name, "email": c.email, "role": c.role} for c in a.contacts]}


def _discount_text(ln) -> str:
    if ln.discount_percent == 0:
        return ""
    return fmt_percent(round_places(ln.discount_percent, 2))


def quote_data(repo: Repo, q: Quote, priced, status: str, as_of: date) -> dict:
    from cpqctl import quotes

    products = repo.catalog.products
    term_months = q.term
    terms = ["Prices are net of VAT.",
             "This quote is valid until the date shown above.",
             "Subscriptions are billed in advance; amendments are co-terminated with the contract."]
    return {
        "company": company(repo),
        "account": account_block(repo, q.account),
        "quote": {"id": q.quote, "kind": q.kind, "status": status, "date": q.date,
                  "valid_until": quotes.valid_until(q, repo.settings), "start": priced.start, "end": priced.end,
                  "term_months": term_months, "evergreen": q.evergreen,
                  "billing": q.billing_frequency or repo.settings.billing_frequency, "currency": priced.currency,
                  "contract": q.contract},
        "lines": [{"product": ln.product, "name": products[ln.product].name if ln.product in products else ln.product,
                   "quantity": ln.quantity, "per": ln.per, "start": ln.start, "end": ln.end,
                   "list_unit_price": ln.list_unit_price, "net_unit_price": ln.net_unit_price,
                   "discount_text": _discount_text(ln), "prorate_multiplier": round_places(ln.prorate_multiplier, 6),
                   "net_total": ln.net_total} for ln in priced.lines],
        "totals": {"net": priced.net_total,
                   "taxes": [{"rate": t.rate, "base": t.base, "amount": t.amount} for t in priced.taxes],
                   "tax": priced.tax_total, "gross": priced.gross_total},
        "reverse_charge": priced.reverse_charge,
        "terms": terms,
        "as_of": as_of,
    }


def write_document(root: Path, kind: str, doc_id: str, fmt: str, data: dict, output: Path | None, as_of: date) -> Path | None:
    """Render and write atomically (default out/<ID>.<ext>); ``-o -`` writes to stdout."""
    from cpqctl.render import documents as rd

    templates = root / "templates"
    templates = templates if templates.is_dir() else None
    if fmt == "md":
        payload = rd.render_markdown(kind, data, templates).encode("utf-8")
    else:
        payload = rd.render_pdf(kind, data, templates, as_of)
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(payload)
        return None
    target = output if output is not None else root / "out" / f"{doc_id}.{fmt}"
    target = target if target.is_absolute() else Path.cwd() / target
    _atomic_write_bytes(target, payload)
    from cpqctl.cli.common import info

    info(f"wrote {target}")
    return target


def _atomic_write_bytes(target: Path, payload: bytes) -> None:
    import os
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
