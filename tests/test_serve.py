"""`cpqctl serve`: the team view's pages, their JSON (the CLI's), IDs and path tricks, security headers, the
loopback rule, and a real server over HTTP (docs/portal.md)."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

with warnings.catch_warnings():  # Starlette 1.x announces that its TestClient moves from httpx to httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import cpqctl
from cpqctl.web.app import Viewer
from cpqctl.web.site import PAGE_SIZE, paged
from tests.conftest import copy_example

AS_OF = date(2026, 6, 30)
BASE = "http://127.0.0.1"
TOML_MARK = "[company]"  # text of cpq.toml: never in a response


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example repository with a draft quote and the invoices due by AS_OF issued."""
    root = copy_example(tmp_path_factory.mktemp("serve") / "repo")
    ws = cpqctl.open(root, as_of=AS_OF)
    ws.new_quote("globex", date(2026, 9, 1), ["PRO-SEAT=12", "SSO=1@10%"], term=12)
    ws.run_invoices(through=AS_OF)
    return root


@pytest.fixture(scope="module")
def client(repo: Path) -> TestClient:
    from cpqctl.web import create_app

    return TestClient(create_app(cpqctl.open(repo, as_of=AS_OF)), base_url=BASE)


def _cli_json(cli, repo: Path, *args: str) -> dict:
    run = cli(*args, "--format", "json", "--repo", repo, "--as-of", AS_OF.isoformat())
    assert run.code in (0, 1), run.stderr
    return json.loads(run.stdout)


# --------------------------------------------------------------------------- pages


PAGES = [
    ("/", ["ARR", "Accounts", "Renewals due", 'href="/accounts"', 'action="/accounts"']),
    ("/accounts", ["ACME Sp. z o.o.", "Globex GmbH", 'href="/accounts/acme"', "7 in all"]),
    ("/accounts?q=glo", ["Globex GmbH", "1 in all"]),
    ("/accounts?q=umbrella%20ag", ["Umbrella AG"]),
    ("/accounts/acme", ["ACME Sp. z o.o.", "Owned now", "PRO-SEAT", "C-2026-0001", "INV-2026-", "open"]),
    ("/accounts/umbrella", ["Bundle PLATFORM", "switch", ">on<"]),
    ("/contracts/C-2026-0001", ["Timeline", "A-1", "start", "end", 'href="/accounts/acme"']),
    ("/contracts/C-2026-0004", ["cancelled", "Acquired by another group"]),
    ("/invoices", ["INV-2026-0001", "Status", 'href="/invoices/INV-2026-0001"']),
    ("/invoices?status=open", ["INV-2026-", 'class="current">open<']),
    ("/invoices/INV-2026-0002", ["INV-2026-0002", "ACME Sp. z o.o.", "Download the PDF", "Pro seat", "Gross"]),
    ("/quotes", ["Q-2026-0001", "globex", "draft"]),
    ("/quotes/Q-2026-0001", ["Q-2026-0001", "price waterfall", "list", "volume", "Single sign-on"]),
    ("/renewals?within=365", ["C-2026-0001", "2026-12", "ARR at stake"]),
    ("/board", ["Board", "/board/arr.svg", "/board/movements.svg", "2026-06"]),
    ("/check", ["The repository is clean"]),
]


@pytest.mark.parametrize(("url", "expected"), PAGES, ids=[p[0] for p in PAGES])
def test_every_page_renders(client: TestClient, url: str, expected: list[str]) -> None:
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    for text in expected:
        assert text in r.text, f"{text!r} not on {url}"
    assert "<script" not in r.text and "<style" not in r.text and " style=" not in r.text  # the CSP forbids them


def test_amounts_and_dates_are_formatted_for_the_locale(client: TestClient) -> None:
    """The example's cpq.toml is pl_PL: Babel writes 59 400,00 zł and 31.12.2026 (cpqctl.render.fmt)."""
    text = client.get("/accounts/acme").text
    assert "59\u00a0400,00\u00a0zł" in text
    assert "31.12.2026" in text


def test_the_board_charts_are_the_reports_svgs(client: TestClient) -> None:
    for chart in ("arr", "movements"):
        r = client.get(f"/board/{chart}.svg")
        assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
        assert r.text.startswith("<svg") and "<script" not in r.text
    assert client.get("/board/other.svg").status_code == 404


def test_the_invoice_pdf_is_the_document_kept_at_issue(client: TestClient, repo: Path) -> None:
    r = client.get("/invoices/INV-2026-0002.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content == (repo / "invoices" / "INV-2026-0002.pdf").read_bytes()
    assert r.headers["content-disposition"] == 'attachment; filename="INV-2026-0002.pdf"'
    assert client.get("/accounts/acme.pdf").status_code == 404  # only an invoice has a PDF here


# --------------------------------------------------------------------------- JSON = the CLI's JSON


JSON_PAGES = [
    ("/accounts/acme.json", ["account", "show", "acme"]),
    ("/accounts/umbrella.json", ["account", "show", "umbrella"]),
    ("/contracts/C-2026-0001.json", ["contract", "show", "C-2026-0001"]),
    ("/quotes/Q-2026-0001.json", ["quote", "show", "Q-2026-0001"]),
    ("/renewals.json", ["renewals"]),
    ("/renewals.json?within=365", ["renewals", "--within", "365"]),
    ("/renewals.json?within=180", ["renewals", "--within", "180"]),  # every window cut from the widest's list
    ("/renewals.json?within=730", ["renewals", "--within", "730"]),
    ("/board.json", ["report", "board"]),
    ("/check.json", ["check"]),
    ("/accounts.json", ["account", "list"]),
    ("/invoices.json", ["invoice", "list"]),
    ("/invoices.json?status=open", ["invoice", "list", "--status", "open"]),
    ("/invoices.json?account=acme", ["invoice", "list", "--account", "acme"]),
    ("/quotes.json", ["quote", "list"]),
]


@pytest.mark.parametrize(("url", "args"), JSON_PAGES, ids=[p[0] for p in JSON_PAGES])
def test_json_is_the_clis_json(client: TestClient, cli, repo: Path, url: str, args: list[str]) -> None:
    r = client.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()
    page = data.pop("page", None)
    if page is not None:  # a list: one page of the command's rows, and where it is
        assert page["number"] == 1 and page["size"] == PAGE_SIZE
    assert data == _cli_json(cli, repo, *args)


def test_document_json_is_the_clis_bytes(client: TestClient, cli, repo: Path) -> None:
    """The invoice and the statement: `invoice render|account render --format json -o -`, byte for byte."""
    for url, args in (
        ("/invoices/INV-2026-0002.json", ["invoice", "render", "INV-2026-0002"]),
        ("/accounts/acme/statement.json", ["account", "render", "acme"]),
    ):
        run = cli(*args, "--format", "json", "-o", "-", "--repo", repo, "--as-of", AS_OF.isoformat())
        assert run.code == 0, run.stderr
        assert client.get(url).text == run.stdout


def test_accept_header_asks_for_json(client: TestClient, cli, repo: Path) -> None:
    r = client.get("/contracts/C-2026-0001", headers={"accept": "application/json"})
    assert r.headers["content-type"] == "application/json"
    assert r.json() == _cli_json(cli, repo, "contract", "show", "C-2026-0001")
    assert (
        client.get("/contracts/C-2026-0001", headers={"accept": "text/html,application/json"})
        .headers["content-type"]
        .startswith("text/html")
    )


def test_home_json_counts_what_the_lists_hold(client: TestClient) -> None:
    home = client.get("/index.json").json()
    accounts = client.get("/accounts.json").json()
    invoices = client.get("/invoices.json").json()
    assert home["as_of"] == AS_OF.isoformat()
    assert home["accounts"]["total"] == accounts["page"]["total"] == 7
    assert home["invoices"]["total"] == invoices["page"]["total"] > 0
    assert home["quotes"] == {"total": 1, "by_status": {"draft": 1}}
    assert home["arr"] == client.get("/board.json").json()["arr"]
    assert home["check"] == {"errors": 0, "warnings": 0}


def test_paging_fifty_a_page() -> None:
    rows = list(range(120))
    assert paged(rows, None).rows == list(range(50))
    second = paged(rows, "2")
    assert (second.rows[0], second.number, second.pages, second.total) == (50, 2, 3, 120)
    assert paged(rows, "99").rows == list(range(100, 120))  # past the end: the last page
    assert paged(rows, "-1").number == paged(rows, "x").number == paged(rows, "1" * 20).number == 1
    assert paged([], None).pages == 1


def test_search_and_filters_refuse_bad_input(client: TestClient) -> None:
    assert client.get("/invoices?status=lost").status_code == 400
    assert client.get("/quotes.json?status=lost").status_code == 400
    assert client.get("/renewals?within=7").status_code == 400
    assert client.get("/invoices?account=../x").status_code == 400
    assert client.get("/accounts?q=" + "a" * 500).status_code == 400
    assert client.get("/accounts?q=%00").status_code == 400
    assert client.get("/accounts.json?q=nobody").json()["accounts"] == []


# --------------------------------------------------------------------------- IDs and path tricks


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/nobody",
        "/accounts/nobody.json",
        "/contracts/C-2099-0001",
        "/invoices/INV-2099-0001",
        "/invoices/INV-2099-0001.pdf",
        "/quotes/Q-2099-0001.json",
    ],
)
def test_unknown_ids_are_404(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 404
    if url.endswith(".json"):
        assert r.json()["error"]["code"].startswith("E-UNKNOWN-")


TRICKS = [
    "/accounts/%2e%2e",
    "/accounts/..%2f..%2fcpq.toml",
    "/accounts/%2e%2e%2f%2e%2e%2fcpq.toml",
    "/accounts/acme%2f..%2f..%2fcpq.toml",
    "/accounts/..%5c..%5ccpq.toml",
    "/accounts/%00",
    "/accounts/acme%00.json",
    "/accounts/%2fetc%2fpasswd",
    "/accounts//etc/passwd",
    "/invoices/%2Ftmp%2Fx.pdf",
    "/invoices/..%2f..%2fcpq.toml.pdf",
    "/invoices/.hidden.pdf",
    "/contracts/-rf",
    "/quotes/" + "Q" * 300,
    "/board/..%2f..%2fcpq.toml.svg",
    "/static/..%2fsite.py",
    "/static/%2e%2e/site.py",
    "/static/%2fetc%2fpasswd",
    "//etc/passwd",
]


@pytest.mark.parametrize("url", TRICKS)
def test_path_tricks_are_refused(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code in (400, 404), (url, r.status_code)
    assert TOML_MARK not in r.text and "root:" not in r.text and "import" not in r.text


def test_unknown_ids_are_answered_from_the_cached_lists(repo: Path, monkeypatch) -> None:
    """Once the lists are computed (`warm`), an unknown ID is a 404 without the use case's whole-repository look
    for the closest ID; a known one still goes to the use case."""
    import cpqctl.app.accounts as accounts
    from cpqctl.web import create_app
    from cpqctl.web.app import warm

    app = create_app(cpqctl.open(repo, as_of=AS_OF))
    warm(app)
    c = TestClient(app, base_url=BASE)

    def refuse(*args, **kwargs):
        raise AssertionError("the use case ran for an ID the lists do not hold")

    monkeypatch.setattr(accounts, "account_show", refuse)
    monkeypatch.setattr(accounts, "contract_show", refuse)
    for url, code in (
        ("/accounts/nobody.json", "E-UNKNOWN-ACCOUNT"),
        ("/contracts/C-2099-0001.json", "E-UNKNOWN-CONTRACT"),
        ("/invoices/INV-2099-0001.json", "E-UNKNOWN-INVOICE"),
        ("/quotes/Q-2099-0001.json", "E-UNKNOWN-QUOTE"),
    ):
        r = c.get(url)
        assert (r.status_code, r.json()["error"]["code"]) == (404, code), url
    assert c.get("/invoices/INV-2026-0002.json").status_code == 200
    with pytest.raises(AssertionError, match="the use case ran"):
        c.get("/accounts/acme")


def test_no_model_is_kept_and_none_is_loaded_twice_at_once(repo: Path, monkeypatch) -> None:
    """What keeps the server under 0.5 GB at 50,000 accounts: the lists are computed one at a time, whatever the
    threads asking (each may hold a whole-repository model), and once computed no model is kept — only the packed
    lists (docs/portal.md#speed)."""
    import gc
    import threading
    import weakref

    from cpqctl.app import workspace
    from cpqctl.views.rows import Rows
    from cpqctl.web import create_app
    from cpqctl.web.app import warm
    from cpqctl.web.routes import lists

    models: list = []
    running = [0, 0]  # now, most at once
    real = workspace.Workspace.load

    def tracked(self, kinds=None):
        running[0] += 1
        running[1] = max(running)
        try:
            time.sleep(0.02)  # long enough for another thread to start one meanwhile
            repo, diags = real(self, kinds)
        finally:
            running[0] -= 1
        models.append(weakref.ref(repo))
        return repo, diags

    monkeypatch.setattr(workspace.Workspace, "load", tracked)
    app = create_app(cpqctl.open(repo, as_of=AS_OF))
    site = app.state.site
    asks = [lists.accounts, lists.contracts, lists.quotes, lists.board, lambda s: lists.renewals(s, 365)]
    threads = [threading.Thread(target=ask, args=(site,)) for ask in asks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert running[1] == 1 and len(models) >= len(asks)  # each loads its own model: none is kept for the next
    warm(app)
    assert TestClient(app, base_url=BASE).get("/").status_code == 200
    gc.collect()
    assert models and all(m() is None for m in models)  # every model loaded is gone
    for kind in ("accounts", "contracts", "invoices", "quotes"):
        assert isinstance(getattr(lists, kind)(site).rows, Rows)


def test_check_json_streams_the_clis_bytes(example_repo: Path, cli) -> None:
    """`/check.json` is sent a finding at a time (114,000 warnings at 50,000 accounts), byte for byte `cpqctl check
    --format json`; the page shows 50 of them."""
    from datetime import timedelta

    from cpqctl.web import create_app

    saturday = date(2025, 1, 4)
    weekends = [saturday + timedelta(days=7 * (n // 2) + n % 2) for n in range(60)]  # W-FX-WEEKEND, each of them
    rates = "".join(f"  {d}: {{rate: 5.0, table: 1/A/NBP/2025}}\n" for d in weekends)
    (example_repo / "fx" / "GBP.yaml").write_text(f"currency: GBP\nsource: test\nrates:\n{rates}", encoding="utf-8")
    run = cli("check", "--format", "json", "--repo", example_repo, "--as-of", AS_OF.isoformat())
    found = json.loads(run.stdout)["diagnostics"]
    assert len(found) == 60 and {d["code"] for d in found} == {"W-FX-WEEKEND"}, run.stdout[:500]
    c = TestClient(create_app(cpqctl.open(example_repo, as_of=AS_OF)), base_url=BASE)
    assert c.get("/check.json").text == run.stdout
    page = c.get("/check?page=2").text
    assert found[50]["message"] in page and found[49]["message"] not in page


def test_only_ids_reach_the_workspace(client: TestClient, monkeypatch) -> None:
    """A path segment that is no ID never reaches a use case (refused before any file is looked at)."""
    import cpqctl.app.accounts as accounts

    seen: list[str] = []
    real = accounts.account_show
    monkeypatch.setattr(
        accounts, "account_show", lambda ws, account, **kw: seen.append(account) or real(ws, account=account, **kw)
    )
    for url in ("/accounts/%2e%2e", "/accounts/..%2fx", "/accounts/a%00b", "/accounts/-x", "/accounts/acme"):
        client.get(url)
    assert seen == ["acme"]


# --------------------------------------------------------------------------- security headers and hosts


HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/accounts/acme",
        "/accounts/acme.json",
        "/accounts/nobody",
        "/invoices?status=lost",
        "/invoices/INV-2026-0002.pdf",
        "/board/arr.svg",
        "/static/cpq.css",
        "/static/nothing.css",
        "/no/such/page",
    ],
)
def test_security_headers_on_every_response(client: TestClient, url: str) -> None:
    r = client.get(url)
    for name, value in HEADERS.items():
        assert r.headers.get(name) == value, (url, name)
    csp = r.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "style-src 'self'" in csp
    if not url.startswith("/static/"):
        assert r.headers["cache-control"] == "no-store"


def test_another_host_name_is_refused(client: TestClient) -> None:
    """DNS rebinding: a page of evil.example pointed at 127.0.0.1 names its own host; it is not served."""
    r = client.get("/accounts/acme.json", headers={"host": "evil.example"})
    assert r.status_code == 400 and "ACME" not in r.text
    assert client.get("/", headers={"host": "localhost:8000"}).status_code == 200


def test_the_viewer_seam_limits_a_customer_to_their_account(repo: Path) -> None:
    """The customer portal will sign customers in through ``authenticate``: every record page already asks."""
    from cpqctl.web import create_app

    app = create_app(cpqctl.open(repo, as_of=AS_OF), authenticate=lambda _request: Viewer("customer", "acme"))
    c = TestClient(app, base_url=BASE)
    assert c.get("/accounts/acme").status_code == 200
    assert c.get("/contracts/C-2026-0001.json").status_code == 200
    for url in ("/accounts/globex", "/accounts/globex/statement.json", "/contracts/C-2026-0003", "/quotes/Q-2026-0001"):
        assert c.get(url).status_code == 404, url
    nobody = TestClient(create_app(cpqctl.open(repo, as_of=AS_OF), authenticate=lambda _r: None), base_url=BASE)
    assert nobody.get("/accounts/acme").status_code == 401
    assert nobody.get("/static/cpq.css").status_code == 200


def test_lists_follow_a_change_to_the_repository(example_repo: Path) -> None:
    from cpqctl.web import create_app

    app = create_app(cpqctl.open(example_repo, as_of=AS_OF))
    app.state.site.cache.settle = app.state.site.cache.max_age = 0  # a new state key on every request
    c = TestClient(app, base_url=BASE)
    assert c.get("/quotes.json").json()["quotes"] == []
    assert c.get("/quotes.json").json()["quotes"] == []  # from the cache
    cpqctl.open(example_repo, as_of=AS_OF).new_quote("acme", date(2026, 9, 1), ["PRO-SEAT=5"], term=12)
    assert [q["quote"] for q in c.get("/quotes.json").json()["quotes"]] == ["Q-2026-0001"]


# --------------------------------------------------------------------------- the command


def test_a_non_loopback_host_is_refused_without_public(cli, repo: Path) -> None:
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::"):
        run = cli("serve", "--host", host, "--repo", repo)
        assert run.code == 2, (host, run.stdout, run.stderr)
        assert "--public" in run.stderr and "no sign-in" in run.stderr


def test_loopback_hosts() -> None:
    from cpqctl.cli.serve import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "example.com", "localhost.evil.example"))


def test_serve_help_says_why_public_is_needed(cli) -> None:
    run = cli("serve", "--help")
    assert run.code == 0 and "--public" in run.stdout
    assert "has no sign-in" in " ".join(run.stdout.split())


def test_a_real_server_over_http(repo: Path) -> None:
    """`cpqctl serve --port 0 --format json` in a process: its URL on stdout, pages over HTTP, stopped in time."""
    env = {**os.environ, "CPQ_REPO": "", "CPQ_AS_OF": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cpqctl", "serve", "--port", "0", "--format", "json", "--repo", str(repo),
         "--as-of", AS_OF.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        line = _read_line(proc, timeout=30)
        started = json.loads(line)
        assert started["as_of"] == AS_OF.isoformat() and started["public"] is False
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/", started["url"])
        assert m, started
        port = int(m.group(1))
        status, headers, body = _get(port, "/accounts/acme")
        assert status == 200 and "ACME Sp. z o.o." in body and headers["x-frame-options"] == "DENY"
        status, _, body = _get(port, "/accounts/acme.json")
        assert status == 200 and json.loads(body)["account"] == "acme"
        for raw in ("/accounts/../cpq.toml", "/static/../../cpq.toml", "/accounts/..%2f..%2fcpq.toml", "/../cpq.toml"):
            status, _, body = _get(port, raw)  # sent as written: no client normalises it here
            assert status in (400, 404), (raw, status)
            assert TOML_MARK not in body
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    assert proc.returncode is not None


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    import selectors

    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sel.select(timeout=0.2):
            line = proc.stdout.readline()
            if line:
                return line
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
    raise AssertionError("serve printed no URL in time")


def _get(port: int, path: str) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace")
    finally:
        conn.close()
