"""Bill a generated repository through a date, the way `cpqctl invoice run` does, without the kept documents.

    python bench/bill.py REPO --through 2026-11-30

`invoice run` renders each new invoice's Markdown and PDF to keep beside it (docs/invoices.md): tens of
milliseconds an invoice, so billing gen.py's 10,000-account backlog (≈ 23,700 invoices) would take most of an
hour of Typst. The benchmark needs the ledger, not the documents: this script runs the same use case with the
document step replaced by the invoice file alone (an invoice without `kept:` renders from its file, as invoices
issued before kept documents do). Everything else — the billing, numbering, the staged check, the transaction —
is `invoice run`'s own.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo")
    ap.add_argument("--through", required=True, type=date.fromisoformat)
    args = ap.parse_args()

    from cpqctl.app import invoicing
    from cpqctl.app.workspace import Workspace
    from cpqctl.formats.invoice import invoice_text

    invoicing._with_documents = lambda root, loaded, rel, number, d: (invoice_text(number, d), [])
    t0 = time.perf_counter()
    ws = Workspace.open(args.repo, as_of=args.through)
    res = invoicing.run_invoices(ws, through=args.through, as_of=args.through)
    print(f"{res.message} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
