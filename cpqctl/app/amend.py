"""Amending a contract mid-term (`cpqctl amend C …`): an amendment quote of explicit, priced delta lines.

The delta lines are :func:`cpqctl.core.amendments.plan_changes`' (owned
products keep their signed prices, new products are left to the pricing
waterfall); this module prices them, freezes the priced result as explicit
lines, prices those again exactly as `quote show` will price the file, and
writes the draft (:func:`cpqctl.formats.quotes.amendment_quote_text`) under
a quote number allocated inside the repository lock. Accepting it with
:func:`cpqctl.app.quotes.accept_quote` appends the amendment to the contract.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, timedelta

from cpqctl.app.quotes import QuoteResult, quote_result
from cpqctl.app.workspace import Workspace, lookup
from cpqctl.core.amendments import Change
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.model import Contract, Settings

__all__ = ["Change", "amend", "default_effective"]


def default_effective(c: Contract, new_end: date | None, cancel: bool, day: date, settings: Settings) -> date:
    """The effective date when none is given: the day after the current end (an extension), the day after
    the current billing period (cancelling an evergreen contract); otherwise one is required."""
    from cpqctl.core import amendments, ledger
    from cpqctl.core.proration import period_end
    from cpqctl.core.terms import contract_terms

    if new_end is not None:
        end = ledger.current_end(c)
        if end is None:  # an evergreen contract has no end to extend: refused as with --effective
            amendments.check_amendable(c, c.start, new_end)
        else:
            return end + timedelta(days=1)
    months = contract_terms(c, settings).billing_months
    if cancel and c.evergreen and months is not None:  # billed upfront, it has no billing period to end
        return period_end(c.start, months, max(day, c.start)) + timedelta(days=1)
    raise UsageError("E-USAGE", "--effective is required", "e.g. --effective 2026-04-16")


def amend(
    ws: Workspace,
    contract: str,
    *,
    effective: date | None = None,
    changes: Sequence[Change] = (),
    extend_to: date | None = None,
    cancel: bool = False,
    reason: str | None = None,
    billing: str | None = None,
    new_term: int | None = None,
    as_of: date | None = None,
    dry_run: bool = False,
) -> QuoteResult:
    """Write an amendment quote (a draft) for ``contract``: ``changes``, an extension to ``extend_to``, or a cancel.

    ``changes`` are :class:`~cpqctl.core.amendments.Change` (set | add |
    remove | reprice). ``effective`` is the first day of the change (of a
    cancel: the first day without service); see :func:`default_effective`
    for when it may be left out. Extending continues the active lines at
    their prices, uplifted when the contract's renewal pricing is `uplift`.
    ``billing`` changes the billing frequency from ``effective`` on
    (:mod:`cpqctl.core.regimes`). ``new_term`` (months) starts a new term on ``effective``: the contract then ends
    ``new_term`` months later (its active lines continue, changes co-terminate there) and its billing periods
    count from ``effective`` (Kill Bill's plan change). ``dry_run`` prices the quote and writes nothing.
    """
    from cpqctl.core import amendments
    from cpqctl.core.model import Cancellation

    day = ws.day(as_of)
    changes = list(changes)
    if cancel and extend_to:
        raise UsageError("E-USAGE", "--cancel and --extend-to are opposites", "give one of them")
    if cancel and changes:
        raise UsageError("E-USAGE", "--cancel is an amendment of its own", "drop --set/--add/--remove/--reprice")
    if reason and not cancel:
        raise UsageError("E-USAGE", "--reason goes with --cancel", "add --cancel or drop --reason")
    if cancel and (billing or new_term):
        raise UsageError("E-USAGE", "--cancel ends the billing", "drop --billing and --new-term")
    if new_term is not None and (extend_to is not None or effective is None):
        raise UsageError(
            "E-USAGE", "--new-term needs --effective (its first day) and sets the end itself", "drop --extend-to"
        )
    if not cancel and not changes and not extend_to and not billing and new_term is None:
        raise UsageError("E-USAGE", "nothing to amend", "give --set, --add, --remove, --reprice, --billing or --cancel")
    with ws.writing_contract(contract) as (store, repo):
        c = lookup(
            repo.contracts,
            contract,
            "contract",
            "E-UNKNOWN-CONTRACT",
            "`cpqctl account show ACCOUNT` lists its contracts",
        )
        eff = effective if effective is not None else default_effective(c, extend_to, cancel, day, repo.settings)
        if new_term is not None:
            extend_to = _new_term_end(c, eff, new_term)
        uplift = None
        if extend_to is not None:
            from cpqctl.core.renewal import resolve_terms

            renewal = resolve_terms(c, repo.accounts[c.account], repo.settings, term=1)
            uplift = renewal.uplift if renewal.pricing == "uplift" else None
        lines = amendments.plan_changes(c, repo.catalog, repo.settings, eff, changes, cancel, extend_to, uplift)
        if billing is not None or new_term is not None:
            _check_frequency_change(c, repo.settings, eff, billing, day, restart=new_term is not None)
        if not lines and not cancel and billing is None and new_term is None:
            raise _no_change(contract, eff)
        draft = _draft(
            c,
            day,
            eff,
            lines,
            end=extend_to,
            cancelled=Cancellation(eff, reason or "") if cancel else None,
            billing_frequency=billing,
            billing_restart=new_term is not None,
        )
        return _write_draft(ws, store, repo, draft, day, dry_run)


def _new_term_end(c: Contract, effective: date, months: int) -> date | None:
    """The end of a new term of ``months`` from ``effective`` (None for an evergreen contract: no end); refused when
    it would end on or before the current end (a shorter commitment is a cancellation and a new contract)."""
    from cpqctl.core import ledger
    from cpqctl.core.proration import term_end

    if months < 1:
        raise UsageError("E-USAGE", f"--new-term {months}: a term is at least one month", "e.g. --new-term 12")
    end = ledger.current_end(c)
    if end is None:
        return None
    new_end = term_end(effective, months)
    if new_end <= end:
        raise UsageError(
            "E-USAGE",
            f"a new term of {months} months from {effective} ends {new_end}, not after the current end {end}",
            "give a longer --new-term, or cancel (--cancel) and quote a new contract",
        )
    return new_end


def _check_frequency_change(
    c: Contract, settings: Settings, effective: date, billing: str | None, day: date, restart: bool = False
) -> None:
    """A change of billing frequency (or a new term): after the start, not from upfront billing, not backdated, a
    real change."""
    from cpqctl.core.regimes import regime_on, regimes
    from cpqctl.core.terms import FREQUENCY_MONTHS

    now = regime_on(regimes(c, settings), effective).months
    why = None
    if effective <= c.start:
        why = "a change of billing frequency takes effect after the contract starts", "give a later --effective"
    elif now is None:
        why = "the contract is billed upfront: its one invoice has no periods to change", "renew on the new frequency"
    elif effective < day:
        why = (
            f"a change of billing frequency cannot be backdated ({effective} is before {day})",
            "give --effective today or later",
        )
    elif billing is not None and not restart and now == FREQUENCY_MONTHS[billing]:
        why = f"{c.contract} is already billed {billing} on {effective}", "drop --billing"
    if why is not None:
        raise UsageError("E-USAGE", why[0], why[1])


def _no_change(contract: str, effective: date) -> CpqError:
    return CpqError(
        "E-NO-CHANGE",
        f"the changes leave {contract} as it is on {effective}",
        "give a quantity or price that differs from the contract's",
    )


def change_draft(repo, c: Contract, changes: Sequence[Change], effective: date, day: date):
    """The amendment draft of quantity ``changes`` from ``effective``, its lines frozen as `amend` writes them, and
    its pricing: what the portal shows before the quote is written (the same as the file `amend` would write)."""
    from cpqctl.core import amendments, quotes

    lines = amendments.plan_changes(c, repo.catalog, repo.settings, effective, list(changes), False, None, None)
    if not lines:
        raise _no_change(c.contract, effective)
    draft = _draft(c, day, effective, lines)
    final = dataclasses.replace(draft, lines=tuple(amendments.explicit_lines(quotes.price(repo, draft))))
    return final, quotes.price(repo, final)


def _draft(c: Contract, day: date, effective: date, lines, **fields):
    """An amendment draft of ``c`` on ``day`` (unnumbered) made on its ledger as it stands now."""
    from cpqctl.core.model import Quote, Source

    return Quote(
        quote="(dry run)",
        account=c.account,
        date=day,
        lines=tuple(lines),
        kind="amendment",
        contract=c.contract,
        currency=c.currency,
        effective=effective,
        based_on=len(c.amendments),
        src=Source("(command line)"),
        **fields,
    )


def _write_draft(ws: Workspace, store, repo, draft, day: date, dry_run: bool) -> QuoteResult:
    """Price an amendment draft, freeze its lines as explicit ones and write it under a new quote number.

    The waterfall prices cross-sells once; the frozen lines are priced again
    exactly as `quote show` will price the file.
    """
    from cpqctl.app.numbers import Numbers
    from cpqctl.core import amendments, quotes
    from cpqctl.formats.quotes import amendment_quote_text

    explicit = amendments.explicit_lines(quotes.price(repo, draft))
    final = dataclasses.replace(draft, lines=tuple(explicit))
    priced = quotes.price(repo, final)
    if dry_run:
        return quote_result(repo, final, priced, day, unnamed=True)
    qid = Numbers.here(ws.root, repo.settings).quote(day, ws.quote_ids(repo))
    rel = f"quotes/{qid}.yaml"
    text = amendment_quote_text(
        qid,
        draft.account,
        draft.contract or "",
        draft.currency or "",
        day,
        draft.effective or day,
        draft.based_on or 0,
        explicit,
        end=draft.end,
        cancelled=(draft.cancelled.date, draft.cancelled.reason) if draft.cancelled else None,
        rebases=draft.rebases,
        billing=draft.billing_frequency,
        restart=draft.billing_restart,
    )
    with store.transaction() as tx:
        tx.create(rel, text)
    what = f" (restores {draft.rebases})" if draft.rebases else ""
    return quote_result(
        repo,
        dataclasses.replace(final, quote=qid),
        priced,
        day,
        (rel,),
        f"wrote {rel}{what} (accept it with `cpqctl quote accept {qid} --signed-by NAME`)",
    )


# --------------------------------------------------------------------------- after a merge

REPAIRS = frozenset({"E-CANCELLED-SERVICE", "E-NEGATIVE-QUANTITY"})  # what `amend --rebase` starts from


def rebase(ws: Workspace, contract: str, quote: str, *, as_of: date | None = None, dry_run: bool = False):
    """The amendment quote that restores, on a merged ledger, what accepted amendment ``quote`` meant.

    Two branches amended one contract (docs/teamwork.md). For a change of
    quantities: each product ``quote`` changed is set back to the quantity it
    meant (the ledger it was priced on, plus it) from the latest date another
    branch's amendment of that product took effect; the delta is priced by the
    amendment rules. For a cancellation: every line still in service on or
    after its date (another branch's amendment it did not see) gets its
    negative twin. The draft names what it restores (`rebases:`); the customer
    signs it and `quote accept` appends it, even to the cancelled contract.
    """
    from cpqctl.core import amendments, ledger
    from cpqctl.core.model import Source

    day = ws.day(as_of)
    # the contract's account's files (flat with repository size, issue 21): a draft quote changes no journal
    with ws.writing_contract(contract, REPAIRS, staged_too=True) as (store, repo):
        c = lookup(
            repo.contracts,
            contract,
            "contract",
            "E-UNKNOWN-CONTRACT",
            "`cpqctl account show ACCOUNT` lists its contracts",
        )
        idx = next((i for i, a in enumerate(c.amendments) if a.quote == quote), None)
        if idx is None:
            raise CpqError(
                "E-NOT-AMENDMENT",
                f"{quote} is not an amendment of {c.contract}",
                f"name one of its amendments' quotes: {', '.join(a.quote for a in c.amendments if a.quote) or 'none'}",
            )
        a = c.amendments[idx]
        q = repo.quotes.get(quote)
        based = q.based_on if q is not None and q.based_on is not None else idx
        if a.cancelled is not None:
            eff = a.cancelled.date
            lines = _uncancelled(c, eff)
        else:
            seen = dataclasses.replace(c, amendments=c.amendments[:based] + (a,))
            changes, dates = [], []
            for product in sorted({s.product for s in a.lines if not s.one_time}):
                others = [
                    u.effective
                    for u in c.amendments[based:]
                    if u is not a and any(s.product == product for s in u.lines)
                ]
                d = max([a.effective, *others])
                meant = ledger.quantity_on(seen, product, d)
                if meant != ledger.quantity_on(c, product, d):
                    changes.append(Change("set", product, meant, Source("--rebase")))
                    dates.append(d)
            eff = max(dates, default=a.effective)
            lines = amendments.plan_changes(c, repo.catalog, repo.settings, eff, changes) if changes else []
        if not lines:
            raise CpqError(
                "E-NO-CHANGE",
                f"the ledger of {c.contract} already gives what {quote} meant: nothing to restore",
                "`cpqctl check` names the amendments a merge left inconsistent",
            )
        return _write_draft(ws, store, repo, _draft(c, day, eff, lines, rebases=quote), day, dry_run)


def _uncancelled(c: Contract, cancelled: date) -> list:
    """Negative twins of every line in service on or after the cancellation date (first day without service)."""
    from cpqctl.core import amendments
    from cpqctl.core.merges import boundaries
    from cpqctl.core.model import Amendment, Segment, Source

    out = []
    extra: list[Segment] = []
    for d in [cancelled] + [b for b in boundaries(c) if b > cancelled]:
        now = dataclasses.replace(c, amendments=c.amendments + (Amendment("(rebase)", cancelled, tuple(extra)),))
        for code in sorted({s.product for s in now.segments() if not s.one_time and s.covers(d)}):
            for s, left in amendments.active(now, code, d):
                start = max(d, s.start)
                out.append(amendments.line_of(s, -left, start, s.end, Source("(rebase)")))
                extra.append(dataclasses.replace(s, id=f"(rebase)#{len(extra) + 1}", quantity=-left, start=start))
    return out
