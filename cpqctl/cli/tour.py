"""`cpqctl tour [DIR]`: the first five minutes — the whole story on a copy of the example repo.

Why the real commands, in-process: the tour is the product's demo and its
smoke test at once; it shows exactly what a user would type (each step prints
its command line) and leaves real files to open. Each step has a fixed date,
so two tours are identical. Commands other helpers ship separately
(`invoice`, `report`, `account render`) are run when present and skipped
otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cpqctl.cli import common
from cpqctl.core.diagnostics import CpqError

ACCOUNT = "initech"
SIGNER = "Bartosz Nowak"


class _Tour:
    """Runs the steps; knows the repo, the documents written so far and which commands exist."""

    def __init__(self, root: Path) -> None:
        from cpqctl.cli.main import app

        self.root = root
        self.app = typer.main.get_command(app)
        self.documents: list[Path] = []
        self.step = 0
        # the nested runs re-read the global options: keep the user's -q / --no-color
        self.globals = [*(["-q"] if common.STATE.quiet else []), *(["--no-color"] if common.STATE.no_color else [])]

    def has(self, *path: str) -> bool:
        cmd = self.app
        for name in path:
            cmd = getattr(cmd, "commands", {}).get(name)
            if cmd is None:
                return False
        return True

    def say(self, title: str, text: str) -> None:
        self.step += 1
        common.info(f"\n── {self.step}. {title}\n" + "\n".join(f"   {line}" for line in text.strip().splitlines()))

    def run(self, *args: str, as_of: str, optional: bool = False) -> bool:
        """``cpqctl ARGS --as-of DATE --repo ROOT``; a failing core step stops the tour (exit 1)."""
        common.info(f"\n   $ cpqctl {' '.join(_quote(a) for a in args)} --as-of {as_of}")
        sys.stdout.flush()
        try:
            code = self.app.main(
                args=[*self.globals, *args, "--as-of", as_of, "--repo", str(self.root)],
                prog_name="cpqctl",
                standalone_mode=False,
            )
        except Exception as exc:  # a usage error of a command that changed under the tour
            common.info(f"   {exc}")
            code = 2
        sys.stdout.flush()
        code = code if isinstance(code, int) else 0
        if code and not optional:
            raise CpqError(
                "E-TOUR",
                f"the tour step `cpqctl {' '.join(args)}` failed (exit {code})",
                f"this is a bug in cpqctl; the tour's files are in {self.root}",
            )
        if code:
            common.info(f"   (skipped: this step failed with exit {code}; the rest of the tour goes on)")
        return code == 0

    def records(self, kind: str) -> dict:
        """The repository's ``quotes``, ``contracts`` or ``invoices`` by ID, as the commands so far left them."""
        from cpqctl.app.workspace import Workspace

        repo, _ = Workspace(self.root).load()
        return getattr(repo, kind)

    def ids(self, kind: str) -> set[str]:
        return set(self.records(kind))

    def render(self, kind: str, doc_id: str, as_of: str) -> None:
        for fmt in ("pdf", "md"):
            if self.run(kind, "render", doc_id, "--format", fmt, as_of=as_of, optional=kind != "quote"):
                self.documents.append(self.root / "out" / f"{doc_id}.{fmt}")

    def created(self, kind: str, before: set[str], what: str) -> str:
        new = sorted(self.ids(kind) - before)
        if len(new) != 1:
            raise CpqError(
                "E-TOUR",
                f"the tour expected one new {what}, found {len(new)}",
                f"this is a bug in cpqctl; the tour's files are in {self.root}",
            )
        return new[0]


def _quote(arg: str) -> str:
    return f'"{arg}"' if " " in arg else arg


def _story(t: _Tour) -> None:
    t.say(
        "The example repository",
        f"""
A copy of the example data is now in {t.root}: cpq.toml (company, pricing and
renewal policy), catalog/*.yaml (products, prices, discount schedules) and
contracts/<account>/ (each customer and its contract ledgers). It is plain
YAML made to live in git. Every command below runs with --repo {t.root}.
`check` validates everything and prints nothing when all is well.""",
    )
    t.run("check", as_of="2026-11-28")

    t.say(
        "A new quote",
        f"""
{ACCOUNT} wants 10 Pro seats for 2027 and onboarding. `quote new` prices it
through the waterfall (list price, volume discounts, contracted prices) and
writes quotes/<ID>.yaml as a draft.""",
    )
    before = t.ids("quotes")
    t.run(
        "quote",
        "new",
        "--account",
        ACCOUNT,
        "--start",
        "2027-01-01",
        "--term",
        "12",
        "--billing",
        "quarterly",
        "--line",
        "PRO-SEAT=10",
        "--line",
        "ONBOARDING=1",
        as_of="2026-11-28",
    )
    quote = t.created("quotes", before, "quote")
    t.say(
        "The quote as a document",
        """
The same data renders to PDF (to send) and Markdown (to review in a pull
request), in the company's locale; both land in out/.""",
    )
    t.render("quote", quote, as_of="2026-11-28")

    t.say(
        "Signed: a contract",
        """
Accepting the quote freezes its prices into a new contract ledger under
contracts/<account>/ and marks the quote accepted (protected by a digest).""",
    )
    before = t.ids("contracts")
    t.run("quote", "accept", quote, "--signed-by", SIGNER, as_of="2026-12-05")
    contract = t.created("contracts", before, "contract")
    if t.has("invoice", "preview"):
        t.say("What will be billed", "The invoices the contract will produce, period by period.")
        t.run("invoice", "preview", contract, "--through", "2027-06-30", as_of="2027-01-01", optional=True)

    t.say(
        "A mid-term up-sell",
        f"""
In April {ACCOUNT} grows to 15 seats from 16 April. `amend` writes an
amendment quote: only the 5 extra seats, at the signed price, prorated to the
end of the term.""",
    )
    before = t.ids("quotes")
    t.run("amend", contract, "--effective", "2027-04-16", "--set", "PRO-SEAT=15", as_of="2027-04-10")
    upsell = t.created("quotes", before, "amendment quote")
    t.render("quote", upsell, as_of="2027-04-10")
    if t.has("invoice", "preview"):
        t.say("What the up-sell does to billing", "The charge on acceptance and the change to each later invoice.")
        t.run("invoice", "preview", contract, "--quote", upsell, as_of="2027-04-10", optional=True)
    t.say("The up-sell signed", "Accepting appends an amendment to the ledger: existing lines never change.")
    t.run("quote", "accept", upsell, "--signed-by", SIGNER, as_of="2027-04-10")

    if t.has("invoice", "run"):
        t.say(
            "Invoices",
            """
`invoice run` issues every invoice due by a date for every contract, into
invoices/<ID>.yaml; running it again issues nothing twice.""",
        )
        before = t.ids("invoices")
        if t.run("invoice", "run", "--through", "2027-06-30", as_of="2027-06-30", optional=True) and t.has(
            "invoice", "render"
        ):
            issued = t.records("invoices")
            mine = [i for i in sorted(set(issued) - before) if issued[i].contract == contract]
            for inv in mine[-1:]:
                t.render("invoice", inv, as_of="2027-06-30")
                if t.has("invoice", "send"):
                    t.say(
                        "The invoice by e-mail",
                        f"""
`invoice send` e-mails the PDF to the customer's billing contact through the
SMTP server in cpq.toml [smtp], and records the delivery in the invoice file.
With --eml it writes the message to a file instead (nothing is recorded):
open out/{inv}.eml in a mail client.""",
                    )
                    eml = t.root / "out" / f"{inv}.eml"
                    if t.run("invoice", "send", inv, "--eml", str(eml), as_of="2027-06-30", optional=True):
                        t.documents.append(eml)

    t.say(
        "The renewal quote",
        """
Ahead of the end of the term, `renew` drafts the renewal: the seats owned on
the last day, for another 12 months, here with a 5% uplift.""",
    )
    before = t.ids("quotes")
    t.run("renew", contract, "--pricing", "uplift", "--uplift", "5%", as_of="2027-11-01")
    renewal = t.created("quotes", before, "renewal quote")
    t.render("quote", renewal, as_of="2027-11-01")

    t.say(
        "Where things stand",
        """
`contract show` derives the contract's state on a date from its ledger;
`account show` is the customer's view: what they own, ARR, the next renewal.""",
    )
    t.run("contract", "show", contract, as_of="2027-11-01")
    t.run("account", "show", ACCOUNT, as_of="2027-11-01")
    if t.has("account", "render"):
        t.render("account", ACCOUNT, as_of="2027-11-01")
    if t.has("report", "arr"):
        t.say("ARR", "Annual recurring revenue over every account, on the same date.")
        t.run("report", "arr", as_of="2027-11-01", optional=True)
    if t.has("report", "movements"):
        t.say(
            "What changed this year",
            """
MRR movements from January to October, account by account: new business,
expansion, contraction, churn and reactivation. The start plus the movements
equals the end, to the cent; NRR and GRR follow from them.""",
        )
        t.run("report", "movements", "--from", "2027-01-01", "--to", "2027-10-31", as_of="2027-11-01", optional=True)

    t.say("Still valid", "After all these writes the repository still checks clean.")
    t.run("check", as_of="2027-11-01")


def tour(
    directory: Annotated[
        Path | None,
        typer.Argument(help="An empty or new folder for the tour's copy of the example (default: ./cpq-tour)."),
    ] = None,
) -> None:
    """Walk through the whole story on a copy of the example: quote, contract, up-sell, invoices, renewal, ARR.

    Copies the example data repository into DIR, then runs the real commands
    one by one, explaining each on stderr, and leaves every document it
    renders in DIR/out/. The last line lists them.

    Example:

      cpqctl tour

      cpqctl tour /tmp/cpq-tour
    """
    from cpqctl.example import copy_example

    target = (directory or Path("cpq-tour")).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CpqError(
            "E-EXISTS",
            f"{target} is not empty" if target.is_dir() else f"{target} is a file",
            "pick a new or empty folder for the tour; nothing was changed",
        )
    copy_example(target)
    t = _Tour(target)
    _story(t)
    docs = [p for p in t.documents if p.is_file()]
    common.info(f"\nDone: the tour's repository is {target} (try `cd {target} && git init && git add -A`).")
    sys.stderr.write("open: " + " ".join(str(p) for p in docs) + "\n")  # the last line, even with -q


def register(app: typer.Typer) -> None:
    app.command("tour")(tour)
