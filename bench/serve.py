"""Times the team view's pages over HTTP (issue 20: each under a second after the first load):
`python bench/serve.py REPO [--runs 3]`.

Starts `cpqctl serve --port 0` on REPO (its parse cache warm or not), asks for each page once (the first load:
a list computes its whole-repository use case, which the server also starts in the background), then again
``--runs`` times, and prints the first time and the median of the others per page. With ``--change`` it then
touches one contract file (a new state of the repository: every list is computed again) and asks for the home
page and the widest renewals page once more. Last, on Linux, the server's peak memory (``VmHWM`` of
/proc/PID/status, read before it is stopped): issue 21's "≤ 0.5 GB at 50,000 accounts".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("repo", type=Path)
    ap.add_argument("--as-of", default="2026-12-05")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--change", action="store_true", help="then touch a contract file and load the pages again")
    a = ap.parse_args()
    env = {**os.environ, "CPQ_PROGRESS": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "cpqctl", "serve", "--port", "0", "--format", "json", "--repo", str(a.repo),
         "--as-of", a.as_of],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        url = json.loads(server.stdout.readline())["url"].rstrip("/")
        with httpx.Client(base_url=url, timeout=600) as c:
            accounts = c.get("/accounts.json").json()["accounts"]
            account = accounts[0]["account"]
            contract = c.get(f"/accounts/{account}.json").json()["contracts"][0]["contract"]
            invoices = c.get("/invoices.json").json()["invoices"]
            quotes = c.get("/quotes.json").json()["quotes"]
            pages = ["/", "/index.json", "/accounts", "/accounts?page=3", "/accounts?q=acct-0004", f"/accounts/{account}",
                     f"/accounts/{account}.json", f"/contracts/{contract}", "/invoices", "/invoices?status=open",
                     "/quotes", "/renewals", "/renewals?within=365", "/renewals?within=730", "/board",
                     "/board/arr.svg", "/check", "/check.json", "/portal-activity"]  # fmt: skip
            if invoices:
                stem = invoices[0]["invoice"].replace("/", "_")
                pages += [f"/invoices/{stem}", f"/invoices/{stem}.json"]
            if quotes:
                pages.append(f"/quotes/{quotes[0]['quote']}")
            print(f"{'page':<34} {'first':>8} {'then (median of ' + str(a.runs) + ')':>20}")
            for page in pages:
                first = _time(c, page)
                then = statistics.median(_time(c, page) for _ in range(a.runs))
                print(f"{page:<34} {first:>7.3f}s {then:>19.3f}s")
            if a.change:
                touched = next(p for p in sorted((a.repo / "contracts").glob("*/C-*.yaml")))
                os.utime(touched)
                time.sleep(11)  # past the server's max_age: the next page takes the repository's state again
                for page in ("/", "/renewals?within=730", "/invoices?status=open"):
                    print(f"{'after a change: ' + page:<34} {_time(c, page):>7.3f}s")
        status = Path(f"/proc/{server.pid}/status")
        if status.is_file():
            peak = next((ln.split()[1] for ln in status.read_text().splitlines() if ln.startswith("VmHWM")), None)
            if peak is not None:
                print(f"server's peak memory (VmHWM): {int(peak) / 1024:.0f} MiB")
    finally:
        server.terminate()
        server.wait(10)


def _time(c: httpx.Client, page: str) -> float:
    t = time.perf_counter()
    r = c.get(page)
    assert r.status_code == 200, (page, r.status_code, r.text[-300:])
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
