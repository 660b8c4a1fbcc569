"""bench/gen.py writes a valid, varied and reproducible synthetic data repo.

The benchmarks (SPEC §8: 10,000 accounts checked and reported in seconds) are
only meaningful if the generated repo is well-formed data in the SPEC §1
formats and the same on every machine; these tests hold the generator to that.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml
from dateutil.relativedelta import relativedelta

BENCH = Path(__file__).resolve().parent.parent / "bench"
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MONEY_KEYS = ("list_price", "unit_price", "amount", "net_total", "gross_total", "base")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load("gen")


class DecimalLoader(yaml.CSafeLoader):
    """Safe loading with floats built as Decimal from their text, so money is checked exactly."""


DecimalLoader.add_constructor("tag:yaml.org,2002:float", lambda loader, node: Decimal(node.value))


def _read(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=DecimalLoader)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen20") / "repo"
    gen.generate(out, 20, seed=11)
    return out


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    """Enough accounts that every feature (evergreen, EUR, cancellations, …) shows up."""
    out = tmp_path_factory.mktemp("gen400") / "repo"
    gen.generate(out, 400, seed=3)
    return out


def test_every_yaml_parses_with_safe_load(small):
    files = sorted(small.rglob("*.yaml"))
    assert len(files) >= 1 + 2 * 20  # catalog + account.yaml and a contract per account
    for path in files:
        assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict), path
    settings = tomllib.loads((small / "cpq.toml").read_text(encoding="utf-8"))
    assert settings["company"]["currency"] == "PLN"
    assert settings["company"]["locale"] == "pl_PL"


def test_ids_equal_file_names_and_references_resolve(small):
    accounts = sorted((small / "contracts").iterdir())
    assert [a.name for a in accounts] == [f"acct-{i:05d}" for i in range(1, 21)]
    contracts = {}
    for folder in accounts:
        acct = _read(folder / "account.yaml")
        assert acct["account"] == folder.name
        assert acct["currency"] in ("PLN", "EUR")
        files = [p for p in folder.glob("*.yaml") if p.name != "account.yaml"]
        assert len(files) == 1
        c = _read(files[0])
        assert c["contract"] == files[0].stem and ID_RE.fullmatch(c["contract"])
        assert re.fullmatch(r"C-20\d\d-\d{5}", c["contract"])
        assert c["account"] == folder.name and c["currency"] == acct["currency"]
        assert 3 <= len(c["lines"]) <= 5
        assert list(c)[-1] == "amendments" or "amendments" not in c
        contracts[c["contract"]] = c
    invoices = sorted((small / "invoices").glob("*.yaml"))
    assert invoices
    for path in invoices:
        inv = _read(path)
        assert inv["invoice"] == path.stem and re.fullmatch(r"INV-20\d\d-\d{5}", path.stem)
        assert path.stem[4:8] == str(inv["date"].year)  # {year} is the invoice date's year
        c = contracts[inv["contract"]]
        assert inv["account"] == c["account"] and inv["currency"] == c["currency"]
        for line in inv["lines"]:
            assert _segment(c, line["segment"])["product"] == line["product"]


def _segment(contract: dict, seg_id: str) -> dict:
    """The ledger line a segment ID such as C-2026-00001/A-1#2 names."""
    m = re.fullmatch(r"(?P<c>[^/#]+)(?:/(?P<a>[^#]+))?#(?P<n>\d+)", seg_id)
    assert m and m["c"] == contract["contract"], seg_id
    lines = contract["lines"]
    if m["a"]:
        lines = next(a for a in contract["amendments"] if a["amendment"] == m["a"])["lines"]
    return lines[int(m["n"]) - 1]


def test_contract_end_is_start_plus_term_minus_one_day(large):
    fixed = evergreen = 0
    for path in (large / "contracts").glob("*/C-*.yaml"):
        c = _read(path)
        if c.get("evergreen"):
            evergreen += 1
            assert "end" not in c and all("end" not in ln for ln in c["lines"])
            continue
        fixed += 1
        terms = [t for t in (12, 24, 36) if c["start"] + relativedelta(months=t) - timedelta(days=1) == c["end"]]
        assert terms, (path.name, c["start"], c["end"])
        assert date(2025, 1, 1) <= c["start"] <= date(2026, 12, 31)
        for ln in c["lines"]:
            assert ln["start"] == c["start"]
            assert ln.get("end") == (None if "per" not in ln else c["end"])
    assert fixed and evergreen


def test_same_seed_gives_a_byte_identical_tree(small, tmp_path):
    again = tmp_path / "again"
    gen.generate(again, 20, seed=11)
    assert _tree(again) == _tree(small)


def test_a_different_seed_gives_a_different_tree(small, tmp_path):
    other = tmp_path / "other"
    gen.generate(other, 20, seed=12)
    assert _tree(other) != _tree(small)


def test_money_is_written_with_two_places(large):
    pattern = re.compile(r"\b(" + "|".join(MONEY_KEYS) + r"): ([^,}\n]+)")
    seen = 0
    for path in large.rglob("*.yaml"):
        for key, value in pattern.findall(path.read_text(encoding="utf-8")):
            assert re.fullmatch(r"-?\d+\.\d\d", value), (path.name, key, value)
            assert value != "-0.00"
            seen += 1
    assert seen > 1000


def test_seat_prices_follow_the_range_schedule(large):
    """A base PRO-SEAT line's net price is the list price less the tier of its own quantity."""
    tiers = ((51, Decimal(20)), (11, Decimal(10)), (1, Decimal(0)))
    for path in (large / "contracts").glob("*/C-*.yaml"):
        seat = _read(path)["lines"][0]
        assert seat["product"] == "PRO-SEAT" and 1 <= seat["quantity"] <= 200
        discount = next(d for f, d in tiers if seat["quantity"] >= f)
        assert seat["unit_price"] == (seat["list_price"] * (100 - discount) / 100).quantize(Decimal("0.01"))


def test_invoice_totals_add_up(large):
    for path in (large / "invoices").glob("*.yaml"):
        inv = _read(path)
        net = sum((ln["amount"] for ln in inv["lines"]), Decimal(0))
        assert inv["net_total"] == net
        (tax,) = inv["taxes"]
        assert tax["base"] == net
        rate = Decimal(tax["rate"].rstrip("%"))
        assert tax["amount"] == (net * rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert inv["gross_total"] == net + tax["amount"]
        assert inv["due"] == inv["date"] + timedelta(days=14)
        assert inv["sale_date"] == min(ln["period_start"] for ln in inv["lines"])


def test_the_repo_exercises_every_feature(large):
    currencies, kinds, amendment_kinds = set(), set(), set()
    for path in (large / "contracts").glob("*/C-*.yaml"):
        c = _read(path)
        currencies.add(c["currency"])
        products = [ln["product"] for ln in c["lines"]]
        for a in c.get("amendments", []):
            assert c["start"] < a["effective"] <= c.get("end", a["effective"])
            if "cancelled" in a:
                amendment_kinds.add("cancel")
                assert a is c["amendments"][-1] and all(ln["quantity"] < 0 for ln in a["lines"])
            elif a["lines"][0]["product"] in products:
                amendment_kinds.add("up-sell")
            else:
                amendment_kinds.add("cross-sell")
            products += [ln["product"] for ln in a["lines"]]
    for path in (large / "invoices").glob("*.yaml"):
        kinds.update(ln["kind"] for ln in _read(path)["lines"])
    assert currencies == {"PLN", "EUR"}
    assert amendment_kinds == {"up-sell", "cross-sell", "cancel"}
    assert kinds == {"recurring", "proration", "credit", "one-time"}


def test_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        gen.generate(tmp_path, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    assert gen.main([str(tmp_path), "--accounts", "1"]) == 2


def test_floor_parse_counts_every_yaml_file(small):
    floor = _load("floor_parse")
    assert floor.parse_all(str(small)) == len(list(small.rglob("*.yaml")))


def test_minimal_typer_app_has_help():
    from typer.testing import CliRunner

    result = CliRunner().invoke(_load("minimal_typer").app, ["--help"])
    assert result.exit_code == 0 and "--name" in result.output


def test_every_invoice_carries_cpqctls_digest(small):
    """Issued invoices end with the digest line cpqctl writes and the loader checks (`invoice run`'s staged
    validation refuses a repository whose invoices lack it)."""
    from cpqctl.formats.digest import verify

    invoices = sorted((small / "invoices").glob("*.yaml"))
    assert invoices
    for path in invoices:
        text = path.read_text(encoding="utf-8")
        assert verify(text, yaml.safe_load(text).get("digest"), after="sent") is None, path


def test_cpqctl_bills_the_generated_repo(small, tmp_path):
    """A run that writes is validated on the repository it would leave (the generated invoices lacked digests,
    so it was refused), and both billing paths (incremental and full) bill the backlog alike."""
    import shutil
    import subprocess
    import sys

    import cpqctl
    from cpqctl.core import billing

    repo = cpqctl.open(small).read()
    assert repo.invoices
    assert billing.run(repo, date(2026, 11, 30)) == billing.run(repo, date(2026, 11, 30), full=True)
    copy = tmp_path / "repo"
    shutil.copytree(small, copy, ignore=shutil.ignore_patterns(".cpq"))
    args = ["invoice", "run", "--through", "2026-11-30", "--as-of", "2026-11-30", "--repo", str(copy), "-q"]
    done = subprocess.run([sys.executable, "-m", "cpqctl", *args], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert len(list((copy / "invoices").glob("*.yaml"))) > len(repo.invoices)
