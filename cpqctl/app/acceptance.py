"""Accepting a quote: the files it writes, staged in one transaction.

new      → the quote frozen (priced lines, signer, digest) + a new contract file
renewal  → the same, the new contract naming its predecessor (`renews:`)
amendment→ the quote frozen + an amendment appended to the contract (pure addition)
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cpqctl.core import quotes
from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import Quote, Repo
from cpqctl.store import next_id, sha256_file
from cpqctl.formats.yamlout import Raw, flow, mapping_lines


def amendment_text(contract, amendment_id: str, q: Quote, priced, signed_by: str, signed_on: date) -> str:
    """The lines appended to a contract file: the amendment entry (and `amendments:` if it is the first)."""
    out = [] if contract.amendments else ["amendments:"]
    out.append(f"  - amendment: {amendment_id}")
    pairs = [("quote", q.quote), ("effective", q.effective),
             ("signed", Raw(flow([("by", signed_by), ("date", signed_on)]))),
             ("end", q.end if q.end and q.kind == "amendment" and not q.cancelled else None),
             ("cancelled", Raw(flow([("date", q.cancelled.date), ("reason", q.cancelled.reason or None)]))
              if q.cancelled else None)]
    out.extend(mapping_lines(pairs, indent="    "))
    if priced.lines:
        out.append("    lines:")
        out.extend("      - " + quotes.segment_flow(ln) for ln in priced.lines)
    return "\n".join(out) + "\n"


def accept(root: Path, repo: Repo, q: Quote, signed_by: str, signed_on: date, as_of: date, lock_prices: bool,
           tx) -> str:
    settings = repo.settings
    priced = quotes.price(repo, q)
    quotes.check_acceptable(q, priced, settings, as_of)
    qrel = q.src.file
    q_sha = sha256_file(root / qrel)
    if q.kind == "amendment":
        c = repo.contracts[q.contract]
        if q.based_on is not None and q.based_on != len(c.amendments):
            raise CpqError("E-STALE-QUOTE", f"contract {c.contract} has changed since {q.quote} was made "
                           f"({len(c.amendments)} amendments now, {q.based_on} then)",
                           f"regenerate the amendment quote with `cpqctl amend {c.contract} …`", src=q.src)
        from cpqctl.core import ledger
        if ledger.cancellation(c) is not None:
            raise CpqError("E-CANCELLED", f"contract {c.contract} is cancelled; it cannot be amended", "",
                           src=q.src)
        aid = f"A-{len(c.amendments) + 1}"
        tx.write(qrel, quotes.accepted_text(q, priced, signed_by, signed_on, c.contract), expect_sha256=q_sha)
        crel = c.src.file
        tx.append(crel, amendment_text(c, aid, q, priced, signed_by, signed_on), expect_sha256=sha256_file(root / crel))
        return f"accepted {q.quote}: amendment {aid} appended to {crel}"
    # new business or renewal: a new contract
    pattern = settings.numbering_contract
    cid = next_id(pattern, priced.start.year, repo.contracts)
    renews = q.contract if q.kind == "renewal" else None
    if renews:
        succ = repo.successors.get(renews)
        if succ:
            raise CpqError("E-RENEWED", f"contract {renews} is already renewed by {succ}", "", src=q.src)
    crel = f"contracts/{q.account}/{cid}.yaml"
    # a renewal quote keeps naming the contract it renews; a new-business quote names the one it created
    tx.write(qrel, quotes.accepted_text(q, priced, signed_by, signed_on, cid if q.kind == "new" else None),
             expect_sha256=q_sha)
    tx.create(crel, quotes.contract_text(cid, q, priced, settings, signed_by, signed_on, renews))
    msg = f"accepted {q.quote}: created {crel}"
    if lock_prices:
        acct = repo.accounts[q.account]
        arel = acct.src.file
        text = (root / arel).read_text(encoding="utf-8")
        add = quotes.lock_prices_text(acct, priced, priced.end)
        tx.write(arel, _add_contracted_prices(text, add), expect_sha256=sha256_file(root / arel))
        msg += f"; locked prices in {arel}"
    return msg


def _add_contracted_prices(text: str, items: str) -> str:
    """Insert list items at the end of the top-level `contracted_prices:` block (or add the block)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    for i, ln in enumerate(lines):
        if ln.startswith("contracted_prices:"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "-", "#")) or not lines[j].strip()):
                j += 1
            while j > i + 1 and not lines[j - 1].strip():
                j -= 1
            lines[j:j] = [items]
            return "".join(lines)
    return "".join(lines) + "contracted_prices:\n" + items


