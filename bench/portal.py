"""Times the customer portal's pages on a generated repository (issue 20): `python bench/portal.py REPO`.

Works on a copy of REPO (it signs an amendment): adds a `[portal]` section to the copy's cpq.toml, warms the parse
cache with `cpqctl check`, starts `cpqctl serve --portal` on a free port, signs in with a link and times each page
over HTTP (medians of --runs): the account, the change form, the price of a change (a POST that writes nothing),
an invoice's PDF; then one "prepare the amendment" (writes the quote and its PDF under the lock) and one signing
(accepts, runs the invoice, tries to e-mail it: the copy has no SMTP server, so that step fails fast and is
logged, as it would be for a real one that is down).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PORTAL = '\n[portal]\nseats = ["PRO-SEAT"]\naddons = ["SSO", "SUPPORT-PREMIUM"]\nmax_quantity = 1000\n'


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("repo", type=Path)
    ap.add_argument("--account", default="acct-00001")
    ap.add_argument("--contract", default="C-2026-00001")
    ap.add_argument("--as-of", default="2026-12-05")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cpq-portal-bench-")) / "repo"
    shutil.copytree(a.repo, work, symlinks=True, ignore=shutil.ignore_patterns(".cpq"))
    with (work / "cpq.toml").open("a", encoding="utf-8") as f:
        f.write(PORTAL)
    env = {**os.environ, "CPQ_PORTAL_SECRET": "bench-secret-" + "x" * 32, "CPQ_PROGRESS": "0"}
    cpq = [sys.executable, "-m", "cpqctl"]
    t = time.perf_counter()
    subprocess.run([*cpq, "check", "--repo", str(work), "-q"], env=env, check=False, capture_output=True)
    print(f"cold check (fills the parse cache): {time.perf_counter() - t:.1f} s")
    link = subprocess.run(
        [*cpq, "portal", "invite", a.account, "--repo", str(work), "--as-of", a.as_of],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    server = subprocess.Popen(
        [*cpq, "serve", "--portal", "--port", "0", "--format", "json", "--repo", str(work), "--as-of", a.as_of],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = json.loads(server.stdout.readline())["url"].rstrip("/")
        with httpx.Client(base_url=url, timeout=120) as c:
            token = re.search(r'name="t" value="([^"]+)"', c.get(link.split("8000", 1)[1]).text).group(1)
            c.post("/portal/login", data={"t": token})
            home = c.get("/portal/").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', home).group(1)
            invoice = re.search(r'href="(/portal/invoices/[^"]+\.pdf)"', home)
            change = f"/portal/contracts/{a.contract}/change"
            form = {"csrf": csrf, "q:PRO-SEAT": "60", "on:SSO": "1", "on:SUPPORT-PREMIUM": "1"}
            rows = [
                ("the account (licences, add-ons, invoices)", lambda: c.get("/portal/")),
                ("the change form", lambda: c.get(change)),
                (
                    "the price of a change (POST, writes nothing)",
                    lambda: c.post(change, data={**form, "action": "price"}),
                ),
            ]
            if invoice:
                rows.append(("an invoice's PDF (as kept at issue)", lambda: c.get(invoice.group(1))))
            print(f"{'page':<48} {'first':>8} {'median of ' + str(a.runs):>12}")
            for name, call in rows:
                first = _time(call)
                rest = [_time(call) for _ in range(a.runs)]
                print(f"{name:<48} {first:>7.3f}s {statistics.median(rest):>11.3f}s")
            t = time.perf_counter()
            r = c.post(change, data={**form, "action": "offer"}, follow_redirects=False)
            print(f"{'prepare the amendment (quote + PDF, locked)':<48} {time.perf_counter() - t:>7.3f}s")
            quote = r.headers["location"]
            first = _time(lambda: c.get(quote))
            rest = [_time(lambda: c.get(quote)) for _ in range(a.runs)]
            print(f"{'the quote to sign':<48} {first:>7.3f}s {statistics.median(rest):>11.3f}s")
            digest = re.search(r'name="document" value="([^"]+)"', c.get(quote).text).group(1)
            t = time.perf_counter()
            done = c.post(quote + "/sign", data={"csrf": csrf, "document": digest, "name": "Bench", "consent": "yes"})
            print(
                f"{'sign (accept, provision, invoice, e-mail)':<48} {time.perf_counter() - t:>7.3f}s  ({done.status_code})"
            )
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work.parent, ignore_errors=True)


def _time(call) -> float:
    t = time.perf_counter()
    r = call()
    assert r.status_code in (200, 303), (r.status_code, r.text[-300:])
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
