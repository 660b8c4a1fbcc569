"""Issue #13, the integrity chain: every edit of a signed or issued record is caught, and blocks every write.

The issue found 21 of 26 tampers passing `check` (and `invoice run` acting on
them): a status flipped back to `draft` disabled the digest and re-accepting
made a second contract; keys hidden after a `\\r` on the `digest:` line turned a
signed up-sell into a cancellation with the digest still matching; contracts
had no check at all; invoices only Σ lines = net_total.

One repository is made by real commands (a copy of the example repository:
`quote new` + `quote accept` → C-2027-0001, `invoice run` on 2026-12-31 and
2027-01-01, two amendments accepted, `invoice run` on 2027-07-01, and one more
draft), then each tamper below is applied to a fresh copy.
For each: `check` reports it as an error with a stable code in the tampered
file at a line > 0, and `quote new`, `invoice run` and `quote accept` of the
other draft all refuse (exit 1) and write nothing. A write about one account (`quote new`, accepting an amendment;
issue 21) reads only that account's files: it is run on the tampered file's account, and refuses unless the finding
is one only the whole invoice series shows (a gap, which `invoice run` refuses).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cpqctl.formats.digest import digest_of, line_of
from tests.conftest import copy_example

PROJECT = Path(__file__).resolve().parents[2]
Q1, QA1, QA2, QD = (
    "quotes/Q-2026-0001.yaml",
    "quotes/Q-2027-0001.yaml",
    "quotes/Q-2027-0002.yaml",
    "quotes/Q-2027-0003.yaml",
)
C = "contracts/acme/C-2027-0001.yaml"
INV = "invoices/INV-2027-0004.yaml"  # acme, C-2027-0001, 2027-01-01: 59,000.00 + 23% = 72,570.00
AS_OF = "2027-07-01"


def _invoke(*args: object):
    from typer.testing import CliRunner

    from cpqctl.cli.main import app

    env = {"CPQ_REPO": None, "CPQ_AS_OF": None, "NO_COLOR": None, "CPQ_DEBUG": None}
    r = CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=True)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tamper") / "repo"
    copy_example(root)
    steps = [
        (
            "quote",
            "new",
            "--as-of",
            "2026-11-20",
            "--account",
            "acme",
            "--start",
            "2027-01-01",
            "--term",
            "12",
            "--line",
            "PRO-SEAT=50",
            "--line",
            "ONBOARDING=1",
        ),
        ("quote", "accept", "Q-2026-0001", "--signed-by", "Anna Nowak", "--as-of", "2026-11-20"),
        # an invoice is dated the day of the run that issues it: 2025–2026 caught up on 2026-12-31 (the 2026
        # series), then 2027-01-01's invoices on their day (INV-2027-0001..0004, ACME's C-2027-0001 the 4th)
        ("invoice", "run", "--as-of", "2026-12-31"),
        ("invoice", "run", "--as-of", "2027-01-01"),
        ("amend", "C-2027-0001", "--as-of", "2027-03-01", "--effective", "2027-04-01", "--set", "PRO-SEAT=60"),
        ("quote", "accept", "Q-2027-0001", "--signed-by", "Anna Nowak", "--as-of", "2027-03-01"),
        ("amend", "C-2027-0001", "--as-of", "2027-05-01", "--effective", "2027-06-01", "--add", "SSO=1"),
        ("quote", "accept", "Q-2027-0002", "--signed-by", "Anna Nowak", "--as-of", "2027-05-01"),
        # February to July 2027 on 2027-07-01: INV-2027-0005..0013
        ("invoice", "run", "--as-of", AS_OF),
        (
            "quote",
            "new",
            "--as-of",
            AS_OF,
            "--account",
            "globex",
            "--start",
            "2027-08-01",
            "--term",
            "12",
            "--line",
            "PRO-SEAT=5",
        ),
    ]
    for step in steps:
        r = _invoke(*step, "--repo", root)
        assert r.exit_code == 0, (step, r.stderr)
    assert (root / QD).is_file() and (root / INV).is_file() and (root / "invoices/INV-2027-0013.yaml").is_file()
    r = _invoke("check", "--repo", root)
    assert r.exit_code == 0, r.stdout
    return root


# --------------------------------------------------------------------------- the tampers


def edit(rel: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        p = root / rel
        text = p.read_bytes().decode()
        assert old in text, (rel, old)
        p.write_bytes(text.replace(old, new, count).encode())

    return apply


def reseal(rel: str, old: str, new: str) -> Callable[[Path], None]:
    """An edit whose forger recomputes the file's own digest: only the chain across files can tell."""

    def apply(root: Path) -> None:
        p = root / rel
        text = p.read_text()
        assert old in text
        text = text.replace(old, new, 1)
        start = text.index("\ndigest:") + 1
        end = text.index("\n", start) + 1
        body = text[:start]
        p.write_text(body + line_of(digest_of(body)) + text[end:])

    return apply


def both(*fs: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        for f in fs:
            f(root)

    return apply


def delete(rel: str) -> Callable[[Path], None]:
    return lambda root: (root / rel).unlink()


def digest_line(root: Path, rel: str) -> str:
    return next(ln for ln in (root / rel).read_text().splitlines() if ln.startswith("digest:"))


def cr_trick(root: Path) -> None:
    """The issue's attack: keys hidden after a `\\r` on the digest line of the accepted up-sell (A-1).

    YAML reads the `\\r` as a line break, so the quote gains a cancellation
    ("customer owes nothing") that the old digest, computed over the text
    without the digest line, did not cover.
    """
    p = root / QA1
    line = digest_line(root, QA1)
    p.write_bytes(p.read_bytes().replace(line.encode(), line.encode() + b"\rcancelled: {date: 2027-04-01, reason: x}"))


def other_digest(root: Path) -> None:
    p = root / QA1
    p.write_text(p.read_text().replace(digest_line(root, QA1), digest_line(root, Q1)))


def remove_line(rel: str, contains: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        p = root / rel
        lines = p.read_text().splitlines(keepends=True)
        hit = [ln for ln in lines if contains in ln]
        assert len(hit) == 1, (rel, contains, hit)
        lines.remove(hit[0])
        p.write_text("".join(lines))

    return apply


def entries(text: str) -> tuple[str, list[str]]:
    head, _, rest = text.partition("amendments:\n")
    return head + "amendments:\n", re.split(r"(?m)^(?=  - amendment: )", rest)[1:]


def ledger_edit(fn: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        p = root / C
        head, items = entries(p.read_text())
        p.write_text(head + "".join(fn(items)))

    return apply


def copy_contract(root: Path) -> None:
    text = (root / C).read_text().replace("contract: C-2027-0001", "contract: C-2027-0002")
    (root / "contracts/acme/C-2027-0002.yaml").write_text(text)


def copy_invoice(root: Path) -> None:
    """A forged copy of INV-2027-0004 as the next number, its own digest recomputed: billed twice."""
    text = (root / INV).read_text().replace("invoice: INV-2027-0004", "invoice: INV-2027-0014")
    body = text[: text.index("digest:")]
    (root / "invoices/INV-2027-0014.yaml").write_text(body + line_of(digest_of(body)))


def rollback(root: Path) -> None:
    """The issue's status rollback, thoroughly: status back to draft, its digest and signature removed."""
    both(
        edit(Q1, "status: accepted", "status: draft"),
        remove_line(Q1, "digest:"),
        remove_line(Q1, "signed:"),
    )(root)


# (name, tamper, file that must hold an error, codes any of which it may be)
TAMPERS: list[tuple[str, Callable[[Path], None], str, set[str]]] = [
    # accepted quotes
    ("quote-price", edit(Q1, "unit_price: 1080.00", "unit_price: 980.00"), Q1, {"E-DIGEST"}),
    ("quote-quantity", edit(Q1, "quantity: 50,", "quantity: 40,"), Q1, {"E-DIGEST"}),
    ("quote-date", edit(Q1, "\nstart: 2027-01-01", "\nstart: 2027-02-01"), Q1, {"E-DIGEST"}),
    ("quote-total", edit(Q1, "net_total: 59000.00", "net_total: 50000.00"), Q1, {"E-DIGEST"}),
    ("quote-remove-line", remove_line(Q1, "ONBOARDING"), Q1, {"E-DIGEST"}),
    (
        "quote-insert-line",
        edit(
            QA1,
            "lines:\n",
            "lines:\n  - {product: SSO, quantity: 1, unit_price: 0.00, per: month, "
            "start: 2027-04-01, end: 2027-12-31, net_total: 0.00}\n",
        ),
        QA1,
        {"E-DIGEST"},
    ),
    ("quote-status-draft", edit(Q1, "status: accepted", "status: draft"), Q1, {"E-DIGEST", "E-QUOTE-ROLLBACK"}),
    ("quote-status-rollback", rollback, Q1, {"E-QUOTE-ROLLBACK"}),
    (
        "quote-status-approved",
        both(edit(QA1, "status: accepted", "status: approved"), remove_line(QA1, "digest:")),
        QA1,
        {"E-QUOTE-ROLLBACK"},
    ),
    ("quote-signer", edit(Q1, "by: Anna Nowak", "by: Someone Else"), Q1, {"E-DIGEST"}),
    ("quote-cr-on-digest-line", cr_trick, QA1, {"E-DIGEST"}),
    ("quote-cr-in-body", edit(Q1, "\nnet_total:", "\rnet_total:"), Q1, {"E-DIGEST"}),
    ("quote-other-digest", other_digest, QA1, {"E-DIGEST"}),
    ("quote-delete-digest", remove_line(Q1, "digest:"), Q1, {"E-DIGEST"}),
    ("quote-text-after-digest", lambda root: (root / Q1).open("a").write("# reviewed\n"), Q1, {"E-DIGEST"}),
    ("quote-resealed", reseal(QA1, "quantity: 10,", "quantity: 1,"), C, {"E-LEDGER-DIGEST", "E-LEDGER-DIFF"}),
    ("quote-deleted", delete(QA1), C, {"E-LEDGER-QUOTE"}),
    # contracts
    ("contract-segment-quantity", edit(C, "quantity: 50,", "quantity: 40,"), C, {"E-LEDGER-DIFF"}),
    ("contract-amendment-price", edit(C, "unit_price: 450.00", "unit_price: 45.00"), C, {"E-LEDGER-DIFF"}),
    ("contract-end", edit(C, "\nend: 2027-12-31", "\nend: 2028-12-31"), C, {"E-LEDGER-DIFF"}),
    (
        "contract-signer",
        edit(C, "signed: {by: Anna Nowak, date: 2026-11-20}", "signed: {by: X, date: 2026-11-20}"),
        C,
        {"E-LEDGER-DIFF"},
    ),
    (
        "contract-quote-digest",
        lambda root: edit(C, digest_line(root, Q1)[8:], digest_line(root, QA1)[8:])(root),
        C,
        {"E-LEDGER-DIGEST"},
    ),
    ("contract-delete-last-amendment", ledger_edit(lambda a: a[:1]), QA2, {"E-LEDGER-MISSING"}),
    ("contract-delete-first-amendment", ledger_edit(lambda a: a[1:]), C, {"E-AMENDMENT-ORDER"}),
    ("contract-reorder-amendments", ledger_edit(lambda a: a[::-1]), C, {"E-AMENDMENT-ORDER"}),
    (
        "contract-duplicate-amendment",
        ledger_edit(lambda a: [*a, a[1].replace("A-2", "A-3")]),
        C,
        {"E-LEDGER-DUPLICATE"},
    ),
    ("contract-amendment-effective", edit(C, "effective: 2027-04-01", "effective: 2027-05-01"), C, {"E-LEDGER-DIFF"}),
    ("contract-deleted", delete(C), Q1, {"E-LEDGER-MISSING"}),
    ("contract-copied", copy_contract, "contracts/acme/C-2027-0002.yaml", {"E-LEDGER-QUOTE", "E-LEDGER-DUPLICATE"}),
    # issued invoices
    ("invoice-amount", edit(INV, "amount: 54000.00", "amount: 5400.00"), INV, {"E-DIGEST"}),
    (
        "invoice-line-and-net",
        both(
            edit(INV, "amount: 54000.00", "amount: 44000.00"), edit(INV, "net_total: 59000.00", "net_total: 49000.00")
        ),
        INV,
        {"E-DIGEST"},
    ),
    ("invoice-tax", edit(INV, "amount: 13570.00", "amount: 0.00"), INV, {"E-DIGEST"}),
    ("invoice-gross", edit(INV, "gross_total: 72570.00", "gross_total: 59000.00"), INV, {"E-DIGEST"}),
    ("invoice-rate", edit(INV, "rate: 23%", "rate: 8%"), INV, {"E-DIGEST"}),
    ("invoice-date", edit(INV, "\ndate: 2027-01-01", "\ndate: 2027-02-01"), INV, {"E-DIGEST"}),
    ("invoice-number", edit(INV, "invoice: INV-2027-0004", "invoice: INV-2027-0040"), INV, {"E-DIGEST"}),
    ("invoice-contract", edit(INV, "contract: C-2027-0001", "contract: C-2026-0001"), INV, {"E-DIGEST"}),
    (
        "invoice-deleted-in-series",
        delete("invoices/INV-2027-0005.yaml"),
        "invoices/INV-2027-0006.yaml",
        {"E-INVOICE-GAP"},
    ),
    ("invoice-copied", copy_invoice, "invoices/INV-2027-0014.yaml", {"E-INVOICE-DUPLICATE"}),
    (
        "invoice-delete-digest",
        remove_line("invoices/INV-2027-0013.yaml", "digest:"),
        "invoices/INV-2027-0013.yaml",
        {"E-INVOICE-DIGEST"},
    ),
    (
        "invoice-cr-on-digest-line",
        lambda root: edit(INV, digest_line(root, INV), digest_line(root, INV) + "\rcorrects: INV-2027-0001")(root),
        INV,
        {"E-DIGEST"},
    ),
    ("invoice-text-after-digest", lambda root: (root / INV).open("a").write("reason: void\n"), INV, {"E-DIGEST"}),
    # forged: the invoice's own digest recomputed, caught by the arithmetic and references
    ("invoice-resealed-tax", reseal(INV, "amount: 13570.00", "amount: 1357.00"), INV, {"E-INVOICE-TAX"}),
    (
        "invoice-resealed-gross",
        reseal(INV, "gross_total: 72570.00", "gross_total: 59000.00"),
        INV,
        {"E-INVOICE-TOTAL"},
    ),
    ("invoice-resealed-rate", reseal(INV, "rate: 23%", "rate: 0%"), INV, {"E-INVOICE-TAX"}),
    ("invoice-resealed-account", reseal(INV, "account: acme", "account: nobody"), INV, {"E-UNKNOWN-ACCOUNT"}),
    (
        "invoice-resealed-contract",
        reseal(INV, "contract: C-2027-0001", "contract: C-2026-0001"),
        INV,
        {"E-INVOICE-SEGMENT"},
    ),
]


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


def test_there_are_at_least_25_kinds() -> None:
    assert len(TAMPERS) >= 25 and len({t[0] for t in TAMPERS}) == len(TAMPERS)


@pytest.mark.parametrize(("name", "tamper", "rel", "codes"), TAMPERS, ids=[t[0] for t in TAMPERS])
def test_check_catches_the_tamper_and_every_write_refuses(base, tmp_path, cli, name, tamper, rel, codes) -> None:
    root = tmp_path / "repo"
    shutil.copytree(base, root, ignore=shutil.ignore_patterns(".cpq"))
    # a quote of each account to accept after the tamper: globex's Q-2027-0003 (new business), one of acme's
    made = cli("quote", "new", "--account", "acme", "--start", "2027-09-01", "--line", "PRO-SEAT=1",
               "--repo", root, "--as-of", AS_OF)  # fmt: skip
    assert made.code == 0, made.stderr
    quote_of = {"acme": re.search(r"wrote quotes/(\S+)\.yaml", made.stderr).group(1), "globex": "Q-2027-0003"}
    tamper(root)
    r = cli("check", "--repo", root, "--format", "json")
    assert r.code == 1, r.stdout
    diags = json.loads(r.stdout)["diagnostics"]
    hits = [d for d in diags if d["file"] == rel and d["code"] in codes and d["severity"] == "error"]
    assert hits, f"{name}: no {codes} in {rel}: {[(d['code'], d['file'], d['line']) for d in diags]}"
    assert all(d["line"] > 0 and d["column"] > 0 and d["hint"] for d in hits)

    before = snapshot(root)
    # a write about one account (issue 21) reads that account's files, the catalog and cpq.toml: it refuses a
    # tamper there; a numbering gap is the whole series' finding, which `invoice run` (it numbers) refuses
    owner = _account_of(root, rel)
    account = owner or "acme"
    writes = [
        ("quote", "new", "--account", account, "--start", "2027-09-01", "--line", "PRO-SEAT=1"),
        ("invoice", "run", "--through", "2027-08-01"),
    ]
    if owner in (None, "acme", "globex"):  # accepting a quote of the account whose file was tampered
        writes.append(("quote", "accept", quote_of[owner or "globex"], "--signed-by", "X"))
    for args in writes:
        w = cli(*args, "--repo", root, "--as-of", AS_OF)
        if args[0] == "quote" and codes <= SERIES:
            assert w.code == 0, (name, args, w.stderr)
            continue
        assert w.code == 1, (name, args, w.stdout, w.stderr)
        assert "E-" in w.stderr
    if not codes <= SERIES:
        assert snapshot(root) == before


SERIES = {"E-INVOICE-GAP"}


def _account_of(root: Path, rel: str) -> str | None:
    """The account whose files hold ``rel`` (None: a file every write reads, the catalog or cpq.toml)."""
    if rel.startswith("contracts/"):
        return rel.split("/")[1]
    path = root / rel
    if rel.startswith(("quotes/", "invoices/")) and path.is_file():
        found = re.search(r"(?m)^account: (\S+)$", path.read_text(encoding="utf-8"))
        return found.group(1) if found else None
    return None


def test_untampered_copy_accepts_writes(base, tmp_path, cli) -> None:
    """The control: the same writes succeed on the untouched repository (so the refusals above are the tampers')."""
    root = tmp_path / "repo"
    shutil.copytree(base, root, ignore=shutil.ignore_patterns(".cpq"))
    assert cli("quote", "accept", "Q-2027-0003", "--signed-by", "X", "--repo", root, "--as-of", AS_OF).code == 0
    assert cli("invoice", "run", "--through", "2027-08-01", "--repo", root, "--as-of", AS_OF).code == 0
    assert cli("check", "--repo", root).code == 0


def test_rolled_back_quote_cannot_be_accepted_again(base, tmp_path, cli) -> None:
    """The issue: flipping `status: accepted` back to `draft` and re-accepting made a second contract."""
    root = tmp_path / "repo"
    shutil.copytree(base, root, ignore=shutil.ignore_patterns(".cpq"))
    rollback(root)
    r = cli("quote", "accept", "Q-2026-0001", "--signed-by", "Anna Nowak", "--repo", root, "--as-of", "2026-11-20")
    assert r.code == 1 and "E-QUOTE-ROLLBACK" in r.stderr
    assert sorted(p.name for p in (root / "contracts/acme").iterdir()) == [
        "C-2026-0001.yaml",
        "C-2027-0001.yaml",
        "account.yaml",
    ]
    r = cli("check", "--repo", root, "--format", "json")
    d = next(d for d in json.loads(r.stdout)["diagnostics"] if d["code"] == "E-QUOTE-ROLLBACK")
    status_line = (root / Q1).read_text().splitlines().index("status: draft") + 1
    assert (d["file"], d["line"]) == (Q1, status_line)
    assert "recorded as accepted by contract C-2027-0001" in d["message"] and "says `status: draft`" in d["message"]


def test_cr_on_the_digest_line_is_refused_although_the_digest_matches(base, tmp_path, cli) -> None:
    """The issue's `\\r` attack: the hidden cancellation is read by YAML and the stored digest is still that of the
    bytes before the digest line; the line is refused because it is not in canonical form."""
    root = tmp_path / "repo"
    shutil.copytree(base, root, ignore=shutil.ignore_patterns(".cpq"))
    cr_trick(root)
    text = (root / QA1).read_bytes().decode()
    import yaml

    assert yaml.safe_load(text)["cancelled"]["date"].isoformat() == "2027-04-01"  # YAML sees the hidden key
    stored = re.search(r'digest: "(sha256:[0-9a-f]+)"', text)[1]
    assert stored == digest_of(text)  # the digest still matches the bytes before its line
    r = cli("check", "--repo", root, "--format", "json")
    d = next(d for d in json.loads(r.stdout)["diagnostics"] if d["file"] == QA1)
    assert d["code"] == "E-DIGEST" and "line break" in d["message"]
    assert d["line"] == text.split("\n").index(next(x for x in text.split("\n") if x.startswith("digest:"))) + 1


def test_invoices_without_digest_are_a_warning_only_before_the_first_digested_one(base, tmp_path, cli) -> None:
    """Invoices issued before cpqctl wrote digests: one warning; once digests exist, a missing one is an error."""
    root = tmp_path / "repo"
    shutil.copytree(base, root, ignore=shutil.ignore_patterns(".cpq"))
    for p in sorted((root / "invoices").glob("*.yaml")):
        p.write_text("".join(ln for ln in p.read_text().splitlines(keepends=True) if not ln.startswith("digest:")))
    r = cli("check", "--repo", root, "--format", "json")
    assert r.code == 0, r.stdout
    warn = [d for d in json.loads(r.stdout)["diagnostics"] if d["code"] == "W-INVOICE-DIGEST"]
    # 34 of 2026 (Globex's downgrade credited on its year's invoice: both issued by the same catch-up run, nothing
    # invoiced before it, so neither a correction nor a negative invoice) and 15 of 2027 (Stark's monthly from June)
    assert len(warn) == 1 and warn[0]["severity"] == "warning" and "49 invoice(s)" in warn[0]["message"]
    # the next run issues digested invoices: the older ones stay a warning
    assert cli("invoice", "run", "--through", "2027-08-01", "--repo", root, "--as-of", AS_OF).code == 0
    r = cli("check", "--repo", root, "--format", "json")
    assert r.code == 0, r.stdout
