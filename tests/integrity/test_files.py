"""Issue 13, symlinks and odd files: committed links escaped the template sandbox (a `templates/x.j2 ->
/proc/self/environ` put the SMTP password into an invoice e-mail; a linked `templates/assets/` let a Typst
template read any file into a PDF), and data files that were links, or folders named `*.yaml`, were followed or
skipped unseen.

Now every file cpqctl reads from a repository (cpq.toml, catalog/, contracts/, quotes/, invoices/, templates/
and templates/assets/) must be a regular file in real folders inside it: anything else is a positioned error of
`check` (E-SYMLINK, E-NOT-REGULAR-FILE) and a refusal of every command that would read it. Real links in
tmp_path.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from cpqctl.app import invoicing
from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError, InvalidRepository
from cpqctl.render.documents import TemplateError, _assets, render_text

SECRET = "CPQ_SMTP_PASSWORD=hunter2-very-secret"
EXTRA_PRODUCT = """\
products:
  - code: EXTRA
    name: Extra
    type: subscription
    per: month
    price: {PLN: 1.00}
"""


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the repository holding what a link could reach."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET + "\n")
    return folder


def findings(cli, root: Path) -> tuple[int, list[dict]]:
    run = cli("check", "--repo", root, "--format", "json")
    return run.code, json.loads(run.stdout)["diagnostics"]


# --------------------------------------------------------------------------- templates


def test_a_linked_template_cannot_put_a_secret_into_an_email(example_repo: Path, outside: Path, cli) -> None:
    """The finding: templates/invoice-email.txt.j2 -> a file outside (there /proc/self/environ) and the e-mail
    carried its text. Now the message is refused, positioned at the link, and `check` reports it."""
    ws = Workspace.open(example_repo, as_of=date(2026, 4, 2))
    invoicing.run_invoices(ws, through=date(2026, 3, 31))
    (example_repo / "templates").mkdir()
    (example_repo / "templates/invoice-email.txt.j2").symlink_to(outside / "secret.txt")
    with pytest.raises(CpqError) as refused:
        invoicing.write_emls(ws, ["INV-2026-0001"], target=Path("-"))
    assert refused.value.code == "E-SYMLINK"
    assert str(refused.value.src) == "templates/invoice-email.txt.j2:1:1"
    assert refused.value.hint and SECRET not in refused.value.message
    run = cli("invoice", "send", "INV-2026-0001", "--eml", "-", "--repo", example_repo, "--as-of", "2026-04-02")
    assert run.code == 1 and SECRET not in run.stdout
    assert "templates/invoice-email.txt.j2:1:1: error[E-SYMLINK]" in run.stderr, run.stderr

    code, found = findings(cli, example_repo)
    assert code == 1
    assert [(d["code"], d["file"], d["line"], d["column"]) for d in found] == [
        ("E-SYMLINK", "templates/invoice-email.txt.j2", 1, 1)
    ]

    # the render layer refuses it too (for a caller that passes the folder itself)
    with pytest.raises(TemplateError, match=r"templates/invoice-email\.txt\.j2: a symbolic link"):
        render_text("invoice-email", {"company": {"locale": "en_US"}}, example_repo / "templates")

    (example_repo / "templates/invoice-email.txt.j2").unlink()  # a real file is fine
    (example_repo / "templates/invoice-email.txt.j2").write_text("Hello {{ greeting }}\n")
    assert invoicing.write_emls(ws, ["INV-2026-0001"], target=Path("-")).payload


def test_proc_self_environ_as_a_template_is_refused(example_repo: Path, cli) -> None:
    (example_repo / "templates").mkdir()
    (example_repo / "templates/quote.md.j2").symlink_to("/proc/self/environ")
    assert cli("quote", "new", "-a", "acme", "--start", "2026-06-01", "-l", "PRO-SEAT=5", "--repo", example_repo).code
    code, found = findings(cli, example_repo)
    assert code == 1 and [(d["code"], d["file"]) for d in found] == [("E-SYMLINK", "templates/quote.md.j2")]


def test_a_linked_assets_folder_cannot_feed_a_pdf(example_repo: Path, outside: Path, cli) -> None:
    """The finding: templates/assets -> any folder, and a Typst template could `#read` its files into a PDF."""
    ws = Workspace.open(example_repo, as_of=date(2026, 5, 1))
    q = ws.new_quote("acme", "2026-06-01", ["PRO-SEAT=5"]).quote.quote
    templates = example_repo / "templates"
    templates.mkdir()
    (templates / "assets").symlink_to(outside, target_is_directory=True)
    with pytest.raises(TemplateError, match=r"templates/assets: a symbolic link"):
        _assets(templates)
    code, found = findings(cli, example_repo)
    assert code == 1 and [(d["code"], d["file"]) for d in found] == [("E-SYMLINK", "templates/assets")]

    (templates / "assets").unlink()
    (templates / "assets").mkdir()
    (templates / "assets/logo.txt").write_text("a real asset\n")
    (templates / "assets/leak.txt").symlink_to(outside / "secret.txt")  # a linked file in a real folder
    with pytest.raises(TemplateError, match=r"templates/assets/leak\.txt: a symbolic link"):
        _assets(templates)
    with pytest.raises(CpqError) as refused:
        ws.render_quote(q, "pdf", example_repo / "out.pdf")
    assert refused.value.code == "E-SYMLINK" and str(refused.value.src) == "templates/assets/leak.txt:1:1"
    assert not (example_repo / "out.pdf").exists()

    (templates / "assets/leak.txt").unlink()
    assert _assets(templates) == {"assets/logo.txt": b"a real asset\n"}


# --------------------------------------------------------------------------- data files


def _link(root: Path, rel: str, target: Path) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).symlink_to(target, target_is_directory=target.is_dir())


def _move_out(root: Path, rel: str, outside: Path) -> None:
    """Replace the folder ``rel`` by a link to a copy of it outside the repository."""
    shutil.move(root / rel, outside / Path(rel).name)
    (root / rel).symlink_to(outside / Path(rel).name, target_is_directory=True)


def _extra_catalog(outside: Path) -> Path:
    (outside / "extra.yaml").write_text(EXTRA_PRODUCT)
    return outside / "extra.yaml"


def _account_folder(outside: Path) -> Path:
    (outside / "evil").mkdir()
    (outside / "evil/account.yaml").write_text("account: evil\nname: Evil\ncurrency: PLN\n")
    return outside / "evil"


CASES: dict[str, tuple[Callable[[Path, Path], None], str, str]] = {
    "a catalog file linked outside": (
        lambda r, o: _link(r, "catalog/extra.yaml", _extra_catalog(o)),
        "E-SYMLINK",
        "catalog/extra.yaml",
    ),
    "a catalog file linked inside the repository": (
        lambda r, o: _link(r, "catalog/alias.yaml", r / "catalog/licenses.yaml"),
        "E-SYMLINK",
        "catalog/alias.yaml",
    ),
    "the catalog folder linked": (lambda r, o: _move_out(r, "catalog", o), "E-SYMLINK", "catalog"),
    "a folder named like a catalog file": (
        lambda r, o: (r / "catalog/more.yaml").mkdir(),
        "E-NOT-REGULAR-FILE",
        "catalog/more.yaml",
    ),
    "a contract linked": (
        lambda r, o: _link(r, "contracts/acme/C-2026-0100.yaml", r / "contracts/acme/C-2026-0001.yaml"),
        "E-SYMLINK",
        "contracts/acme/C-2026-0100.yaml",
    ),
    "an account folder linked": (
        lambda r, o: _link(r, "contracts/evil", _account_folder(o)),
        "E-SYMLINK",
        "contracts/evil",
    ),
    "an account file that is a folder": (
        lambda r, o: (r / "contracts/acme/account.yaml").unlink() or (r / "contracts/acme/account.yaml").mkdir(),
        "E-NOT-REGULAR-FILE",
        "contracts/acme/account.yaml",
    ),
    "a quote linked": (
        lambda r, o: _link(r, "quotes/Q-2026-0100.yaml", o / "secret.txt"),
        "E-SYMLINK",
        "quotes/Q-2026-0100.yaml",
    ),
    "a quote that is a pipe": (
        lambda r, o: (r / "quotes").mkdir() or os.mkfifo(r / "quotes/Q-2026-0100.yaml"),
        "E-NOT-REGULAR-FILE",
        "quotes/Q-2026-0100.yaml",
    ),
    "an invoice linked": (
        lambda r, o: _link(r, "invoices/INV-2026-0100.yaml", o / "secret.txt"),
        "E-SYMLINK",
        "invoices/INV-2026-0100.yaml",
    ),
    "the invoices folder linked": (
        lambda r, o: (o / "invoices").mkdir() or _link(r, "invoices", o / "invoices"),
        "E-SYMLINK",
        "invoices",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_check_reports_every_linked_or_odd_data_file(case: str, example_repo: Path, outside: Path, cli) -> None:
    make, code, rel = CASES[case]
    assert findings(cli, example_repo) == (0, [])
    make(example_repo, outside)
    exit_code, found = findings(cli, example_repo)
    assert exit_code == 1
    assert [(d["code"], d["file"], d["line"], d["column"]) for d in found] == [(code, rel, 1, 1)], found
    assert found[0]["hint"] and SECRET not in json.dumps(found)
    # nothing behind it was read: the linked catalog's product and the linked account do not exist
    repo, _ = Workspace.open(example_repo).load()
    assert "EXTRA" not in repo.catalog.products and "evil" not in repo.accounts
    # and a command that writes refuses to act on it; a write about one account (issue 21) reads no other account's
    # folder, so a link in place of another account's folder does not stop it (nor is it followed)
    run = cli("quote", "new", "-a", "acme", "--start", "2026-06-01", "-l", "PRO-SEAT=5", "--repo", example_repo)
    if rel == "contracts/evil":
        assert run.code == 0, run.stderr
    else:
        assert run.code == 1 and "E-INVALID-REPO" in run.stderr and code in run.stderr


def test_one_record_readers_refuse_a_linked_document(example_repo: Path, cli) -> None:
    """`quote show` reads only its quote's files: a link there is refused, not followed."""
    ws = Workspace.open(example_repo, as_of=date(2026, 5, 1))
    q = ws.new_quote("acme", "2026-06-01", ["PRO-SEAT=5"]).quote.quote
    real = example_repo / "quotes" / f"{q}.yaml"
    moved = example_repo / "elsewhere.yaml"
    real.rename(moved)
    real.symlink_to(moved)
    with pytest.raises(InvalidRepository) as refused:
        ws.quote(q)
    assert [(d.code, d.file) for d in refused.value.diagnostics] == [("E-SYMLINK", f"quotes/{q}.yaml")]
    run = cli("quote", "show", q, "--repo", example_repo, "--as-of", "2026-05-01")
    assert run.code == 1 and f"quotes/{q}.yaml:1:1: error[E-SYMLINK]" in run.stderr


def test_a_linked_cpq_toml_is_refused(example_repo: Path, outside: Path, cli) -> None:
    shutil.move(example_repo / "cpq.toml", outside / "cpq.toml")
    (example_repo / "cpq.toml").symlink_to(outside / "cpq.toml")
    run = cli("check", "--repo", example_repo)
    assert run.code == 2
    assert "cpq.toml:1:1: error[E-SYMLINK]" in run.stderr and "hint:" in run.stderr
