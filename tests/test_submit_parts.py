"""`invoice submit --unsent` on a big repository plans one part at a time (issue 21: the whole model of 50,000
accounts with a year of invoices took 1.2 GB; :func:`cpqctl.app.einvoicing._submit_unsent_in_parts`): each part's
FA(3) files are made and checked while it is read, then go to KSeF in the whole run's order, each record checked
on its own invoice file. Against two KSeF servers on 127.0.0.1 (tests/test_einvoice_submit.py's), one repository
submitted whole and a copy in parts: the same output, the same XML received in the same order, the same files
written; a refusal before anything goes out is the same.

The repository: the example with every account invoiced on 2026-04-01 (KSeF mandatory from then)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import copy_example, copy_repo, invoke
from tests.test_einvoice_submit import AS_OF, ENV, TOKEN, FakeKsef

SMALL = "8"  # about one account a part
WHOLE = "100000000"


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("ksef-parts") / "example")
    r = invoke("invoice", "run", "--as-of", "2026-04-01", "--repo", root)
    assert r.exit_code == 0, r.stderr
    return root


@pytest.fixture
def two(issued: Path, tmp_path: Path, monkeypatch):
    """(whole, parts): two copies, each with its own KSeF server in cpq.toml [ksef]."""
    from cpqctl.app import einvoicing

    monkeypatch.setattr(einvoicing, "POLL_SECONDS", 0.01)
    out = []
    with FakeKsef(TOKEN, lifetime=60) as a, FakeKsef(TOKEN, lifetime=60) as b:
        for name, server in (("whole", a), ("parts", b)):
            root = copy_repo(issued, tmp_path / name)
            toml = root / "cpq.toml"
            toml.write_text(
                toml.read_text(encoding="utf-8")
                + f'\n[ksef]\nenvironment = "test"\ntoken_env = "KSEF_TOKEN"\nbase_url = "{server.url}"\n',
                encoding="utf-8",
            )
            out.append((root, server))
        yield out


def _submit(cli, root: Path, size: str, *args: str, env: dict | None = None):
    return cli(
        "invoice", "submit", "--unsent", *args, "--as-of", AS_OF, "--repo", root,
        env={**(ENV if env is None else env), "CPQ_CHUNK_FILES": size},
    )  # fmt: skip


def _invoices(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "invoices").iterdir())}


def test_submitting_in_parts_sends_and_records_what_the_whole_run_does(cli, two, parts_read) -> None:
    (whole, a), (parts, b) = two
    x = _submit(cli, whole, WHOLE, "--format", "json")
    y = _submit(cli, parts, SMALL, "--format", "json")
    assert x.code == 0, x.stderr
    assert (y.code, y.stdout, y.stderr) == (x.code, x.stdout, x.stderr)
    assert b.got.invoices == a.got.invoices and len(a.got.invoices) >= 3  # the same FA(3) bytes, in the same order
    submitted = json.loads(y.stdout)["submitted"]
    assert len({i["invoice"] for i in submitted}) == len(a.got.invoices)
    assert _invoices(parts) == _invoices(whole)
    assert sum(name.endswith(".ksef.xml") for name in _invoices(parts)) == len(a.got.invoices)
    assert parts_read == [True]  # the whole run read the whole repository; the other, parts
    again = _submit(cli, parts, SMALL)
    assert again.code == 0 and "nothing to submit" in again.stderr
    assert len(b.got.invoices) == len(a.got.invoices)
    assert invoke("check", "--repo", parts).exit_code == 0


def test_what_the_whole_run_refuses_is_refused_in_parts_before_anything_goes_out(cli, two, parts_read) -> None:
    (whole, a), (parts, b) = two
    before = _invoices(parts)
    no_token = {**ENV, "KSEF_TOKEN": None}
    x = _submit(cli, whole, WHOLE, "--format", "json", env=no_token)
    y = _submit(cli, parts, SMALL, "--format", "json", env=no_token)
    assert x.code == 2 and json.loads(x.stdout)["error"]["code"] == "E-KSEF-TOKEN"
    assert (y.code, y.stdout) == (x.code, x.stdout)
    assert a.got.requests == [] == b.got.requests and _invoices(parts) == before
    assert parts_read == [True]  # refused after the parts were read (the whole run: its whole repository)
