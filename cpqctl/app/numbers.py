"""Who may take which number: quote, contract and invoice IDs on the current git branch (docs/teamwork.md).

- Outside git, and on the default branch, every pattern numbers in its plain
  series (highest + 1, under the repository lock).
- Off the default branch, quotes and contracts number in the branch's own
  series (:func:`cpqctl.core.numbering.branch_pattern`): two branches from the
  same state never take the same ID.
- Invoice numbers are legal numbers (Directive 2006/112 art. 226(2); art. 106e
  ust. 1 pkt 2 of the Polish VAT act): one sequence that one writer serialises.
  By default only the default branch issues them; elsewhere `invoice run` is
  refused (E-BRANCH). ``[git] invoicing = "branch-series"`` lets each branch
  issue in a series of its own (``INV-2027-K7F2-0001``), each checked for gaps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import Settings
from cpqctl.core.numbering import Sequences, branch_pattern, has_token, series_token
from cpqctl.load.git import Branch, branch


@dataclass(frozen=True)
class Numbers:
    """The numbering writer of one command: the git state it runs in and the repository's settings."""

    settings: Settings
    branch: Branch | None  # None: outside git

    @classmethod
    def here(cls, root: Path, settings: Settings) -> Numbers:
        return cls(settings, branch(root, settings.git_default_branch))

    @property
    def on_branch(self) -> bool:
        """Off the default branch of a git repository: numbering in this branch's own series."""
        return self.branch is not None and not self.branch.is_default

    def _token(self) -> str:
        return self.branch.token if self.branch is not None else series_token("")

    def _series(self, pattern: str) -> tuple[str, str | None]:
        """The pattern this writer numbers ``pattern``'s IDs with, and its token (None: the plain series)."""
        if has_token(pattern):
            return pattern, self._token()
        if self.on_branch:
            return branch_pattern(pattern), self._token()
        return pattern, None

    def next(self, pattern: str, day: date, existing) -> str:
        """The next ID of ``pattern`` for a document dated ``day``, in this writer's series."""
        mine, token = self._series(pattern)
        return Sequences(mine, existing).take(day.year, day.month, token)

    def quote(self, day: date, existing) -> str:
        return self.next(self.settings.numbering_quote, day, existing)

    def quote_ids(self, existing) -> QuoteIds:
        """The quote IDs of this writer's series, allocated one after another from ``existing`` (one pass over
        them, not one per ID: `renew --due` numbers hundreds of quotes)."""
        return self.series_ids(self.settings.numbering_quote, existing)

    def series_ids(self, pattern: str, existing) -> QuoteIds:
        """:meth:`next` of ``pattern`` one ID after another from ``existing`` (`payment import`'s payments)."""
        mine, token = self._series(pattern)
        return QuoteIds(Sequences(mine, existing), token)

    def contract(self, day: date, existing) -> str:
        return self.next(self.settings.numbering_contract, day, existing)

    def contract_series(self) -> str:
        """The pattern this writer numbers contracts with (off the default branch, its branch's form)."""
        return self._series(self.settings.numbering_contract)[0]

    def contract_after(self, day: date, high: list[list], existing) -> str:
        """:meth:`contract` from the highest numbers in use of :meth:`contract_series`'s series
        (:func:`cpqctl.load.ids.contract_high`) and the IDs ``existing``."""
        mine, token = self._series(self.settings.numbering_contract)
        seqs = Sequences.from_high(mine, high)
        for ident in existing:
            seqs.add(ident)
        return seqs.take(day.year, day.month, token)

    def may_issue_invoices(self) -> None:
        """Refuse (E-BRANCH, exit 1) to issue invoice numbers where no single writer serialises them."""
        if not self.on_branch or self.settings.git_invoicing == "branch-series":
            return
        assert self.branch is not None
        where = f"branch `{self.branch.name}`" if self.branch.name else "a detached HEAD"
        raise CpqError(
            "E-BRANCH",
            f"invoice numbers are issued only on the default branch `{self.branch.default}`, and this is {where}: "
            "two branches numbering invoices would both issue the next number (an invoice number is used once, "
            "in one sequence: Directive 2006/112 art. 226(2))",
            "merge this branch first and run the invoices on the default branch (the monthly CI job does); "
            "preview with `cpqctl invoice preview` or `invoice run --dry-run`. A CI job on a detached checkout "
            'names its branch with CPQ_BRANCH; [git] invoicing = "branch-series" gives each branch its own '
            "series (docs/teamwork.md)",
        )

    def invoices(self, drafts, existing, stems: Iterable[str] = ()) -> list[str]:
        """Invoice numbers for ``drafts`` in order (call under the lock, after :meth:`may_issue_invoices`): a
        corrective invoice (``kind`` correction) in the series of ``[numbering] correction``. In use: the IDs
        ``existing`` and the IDs whose files are named ``stems`` (a run in parts has not read every invoice)."""
        existing = list(existing)
        stems = list(stems)
        series = {}
        for kind, pattern in (
            ("invoice", self.settings.numbering_invoice),
            ("correction", self.settings.numbering_correction),
        ):
            mine, token = self._series(pattern)
            seqs = Sequences(mine, existing)
            for stem in stems:
                seqs.add(stem, stem=True)
            series[kind] = (seqs, token)
        out = []
        for d in drafts:
            seqs, token = series["correction" if getattr(d, "kind", "invoice") == "correction" else "invoice"]
            out.append(seqs.take(d.date.year, d.date.month, token))
        return out


@dataclass(frozen=True)
class QuoteIds:
    """Successive IDs of one series (quotes, a statement's payments): :meth:`peek` the next for a date, :meth:`take` it once it is used."""

    seqs: Sequences
    token: str | None

    def peek(self, day: date) -> str:
        return self.seqs.peek(day.year, day.month, self.token)

    def take(self, ident: str) -> None:
        self.seqs.add(ident)
