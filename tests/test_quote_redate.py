"""`cpqctl quote redate`: an expired draft gets a new date (a new validity) and is priced again; what it refuses."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

AS_OF = "2026-11-28"  # the day the quotes are made; cpq.toml: valid 30 days, so expired from 2026-12-29
LATER = "2027-01-05"


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


def new_quote(cli, root, *lines: str) -> str:
    args = ["quote", "new", "--repo", root, "--as-of", AS_OF, "--account", "acme", "--start", "2027-02-01"]
    for ln in lines:
        args += ["--line", ln]
    r = cli(*args, "--format", "json")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)["quote"]


def show(cli, root, quote: str, as_of: str) -> dict:
    r = cli("quote", "show", quote, "--repo", root, "--as-of", as_of, "--format", "json")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


def redate(cli, root, quote: str, *extra: str, as_of: str = LATER):
    return cli("quote", "redate", quote, "--repo", root, "--as-of", as_of, *extra)


def test_expired_draft_is_redated_valid_again_and_accepted(cli, example_repo):
    q = new_quote(cli, example_repo, "PRO-SEAT=20", "SSO=1")
    assert show(cli, example_repo, q, LATER)["status"] == "expired"
    refused = cli("quote", "accept", q, "--signed-by", "Anna Nowak", "--repo", example_repo, "--as-of", LATER)
    assert refused.code == 1 and "E-EXPIRED" in refused.stderr

    path = example_repo / "quotes" / f"{q}.yaml"
    before = path.read_text(encoding="utf-8")
    r = redate(cli, example_repo, q, "--format", "json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["status"] == "draft" and data["valid_until"] == "2027-02-04"
    assert data == show(cli, example_repo, q, LATER)  # the waterfall as `quote show` shows it
    assert f"re-dated {q} from {AS_OF} to {LATER} in quotes/{q}.yaml" in r.stderr
    after = path.read_text(encoding="utf-8")
    assert after == before.replace(f"date: {AS_OF}\n", f"date: {LATER}\n")  # only the date changed

    table = redate(cli, example_repo, q)  # the table shows every step, as `quote show` does
    assert table.code == 0 and "list 1200.00" in table.stdout and "already" in table.stderr

    ok = cli("quote", "accept", q, "--signed-by", "Anna Nowak", "--repo", example_repo, "--as-of", LATER)
    assert ok.code == 0, ok.stderr
    assert "accepted" in ok.stderr


def test_accepted_quote_is_refused(cli, example_repo):
    q = new_quote(cli, example_repo, "PRO-SEAT=20")
    assert cli("quote", "accept", q, "--signed-by", "A", "--repo", example_repo, "--as-of", AS_OF).code == 0
    before = snapshot(example_repo)
    r = redate(cli, example_repo, q)
    assert r.code == 1
    assert "error[E-ACCEPTED]" in r.stderr and "cannot be re-dated" in r.stderr
    assert snapshot(example_repo) == before


def test_dry_run_writes_nothing(cli, example_repo):
    q = new_quote(cli, example_repo, "PRO-SEAT=20")
    before = snapshot(example_repo)
    r = redate(cli, example_repo, q, "--dry-run", "--format", "json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "draft"  # shown as it would be on the new date
    assert f"would re-date {q} from {AS_OF} to {LATER}" in r.stderr
    assert snapshot(example_repo) == before
    assert show(cli, example_repo, q, LATER)["status"] == "expired"


def test_same_day_and_earlier_day(cli, example_repo):
    q = new_quote(cli, example_repo, "PRO-SEAT=20")
    before = snapshot(example_repo)
    same = redate(cli, example_repo, q, as_of=AS_OF)
    assert same.code == 0 and "nothing written" in same.stderr
    earlier = redate(cli, example_repo, q, as_of="2026-11-01")
    assert earlier.code == 2 and "error[E-USAGE]" in earlier.stderr
    unknown = redate(cli, example_repo, "Q-2026-0999")
    assert unknown.code == 2 and "E-UNKNOWN-QUOTE" in unknown.stderr
    assert snapshot(example_repo) == before


def test_approval_holds_while_the_quote_prices_as_approved(cli, example_repo):
    q = new_quote(cli, example_repo, "PRO-SEAT=20@30%")  # beyond [approvals] max_discount 20%
    assert show(cli, example_repo, q, AS_OF)["status"] == "needs-approval"
    assert cli("quote", "approve", q, "--by", "Jan Kowalski", "--repo", example_repo, "--as-of", AS_OF).code == 0
    r = redate(cli, example_repo, q, "--format", "json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "approved"
    assert "the approval by Jan Kowalski on 2026-11-28 still holds" in r.stderr
    ok = cli("quote", "accept", q, "--signed-by", "Anna Nowak", "--repo", example_repo, "--as-of", LATER)
    assert ok.code == 0, ok.stderr


def test_approval_is_void_when_the_catalog_changed(cli, example_repo):
    q = new_quote(cli, example_repo, "PRO-SEAT=20@30%")
    assert cli("quote", "approve", q, "--by", "Jan Kowalski", "--repo", example_repo, "--as-of", AS_OF).code == 0
    lic = example_repo / "catalog" / "licenses.yaml"
    lic.write_text(lic.read_text(encoding="utf-8").replace("PLN: 1200.00", "PLN: 1300.00"), encoding="utf-8")
    r = redate(cli, example_repo, q, "--format", "json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "needs-approval"
    assert "approval void" in r.stderr and "approve it again" in r.stderr
    refused = cli("quote", "accept", q, "--signed-by", "Anna Nowak", "--repo", example_repo, "--as-of", LATER)
    assert refused.code == 1 and "E-NEEDS-APPROVAL" in refused.stderr


def test_presented_draft_keeps_its_presentations(cli, example_repo):
    q = new_quote(cli, example_repo, "PRO-SEAT=20")
    shown = cli("quote", "render", q, "--format", "md", "-o", "-", "--repo", example_repo, "--as-of", AS_OF)
    assert shown.code == 0, shown.stderr
    r = redate(cli, example_repo, q)
    assert r.code == 0, r.stderr
    assert "last presented on 2026-11-28 with the old validity: render it again" in r.stderr
    assert "presented:" in (example_repo / "quotes" / f"{q}.yaml").read_text(encoding="utf-8")
    ok = cli("quote", "accept", q, "--signed-by", "Anna Nowak", "--repo", example_repo, "--as-of", LATER)
    assert ok.code == 0, ok.stderr  # same prices as presented


def amend(cli, root, *args: str) -> str:
    r = cli("amend", "C-2026-0001", *args, "--repo", root, "--as-of", AS_OF, "--format", "json")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)["quote"]


def test_amendment_draft_is_redated_while_its_contract_is_unchanged(cli, example_repo):
    q = amend(cli, example_repo, "--effective", "2026-12-01", "--set", "PRO-SEAT=60")
    before = show(cli, example_repo, q, AS_OF)
    r = redate(cli, example_repo, q, "--format", "json", as_of="2026-12-30")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["status"] == "draft" and data["lines"] == before["lines"]  # delta lines and prices as written
    ok = cli("quote", "accept", q, "--signed-by", "Anna Nowak", "--repo", example_repo, "--as-of", "2026-12-30")
    assert ok.code == 0, ok.stderr


def test_stale_amendment_draft_is_refused(cli, example_repo):
    first = amend(cli, example_repo, "--effective", "2026-12-01", "--set", "PRO-SEAT=60")
    second = amend(cli, example_repo, "--effective", "2026-12-01", "--set", "PRO-SEAT=70")
    assert cli("quote", "accept", second, "--signed-by", "A", "--repo", example_repo, "--as-of", AS_OF).code == 0
    before = snapshot(example_repo)
    r = redate(cli, example_repo, first)
    assert r.code == 1
    assert "error[E-STALE-QUOTE]" in r.stderr and "amend C-2026-0001" in r.stderr
    assert snapshot(example_repo) == before


def renew(cli, root) -> str:
    r = cli("renew", "C-2026-0001", "--repo", root, "--as-of", AS_OF, "--format", "json")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)["quote"]


def test_renewal_draft_is_redated_and_stays_regenerable(cli, example_repo):
    q = renew(cli, example_repo)
    r = redate(cli, example_repo, q, "--format", "json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "draft"
    again = cli("renew", "C-2026-0001", "--repo", example_repo, "--as-of", LATER)
    assert again.code == 0, again.stderr  # still cpqctl's own draft: no E-EDITED
    assert "up to date" in again.stderr
    ok = cli("quote", "accept", q, "--signed-by", "Anna Nowak", "--repo", example_repo, "--as-of", LATER)
    assert ok.code == 0, ok.stderr


def test_stale_renewal_draft_is_refused(cli, example_repo):
    q = renew(cli, example_repo)
    up = amend(cli, example_repo, "--effective", "2026-12-01", "--set", "PRO-SEAT=60")
    assert cli("quote", "accept", up, "--signed-by", "A", "--repo", example_repo, "--as-of", AS_OF).code == 0
    before = snapshot(example_repo)
    r = redate(cli, example_repo, q)
    assert r.code == 1
    assert "error[E-STALE-QUOTE]" in r.stderr and "cpqctl renew C-2026-0001" in r.stderr
    assert snapshot(example_repo) == before


def test_renewal_of_a_moved_end_is_refused(cli, example_repo):
    q = renew(cli, example_repo)
    ext = amend(cli, example_repo, "--extend-to", "2027-03-31")
    assert cli("quote", "accept", ext, "--signed-by", "A", "--repo", example_repo, "--as-of", AS_OF).code == 0
    r = redate(cli, example_repo, q)
    assert r.code == 1
    assert "error[E-STALE-QUOTE]" in r.stderr and "its renewal starts on 2027-04-01" in r.stderr
