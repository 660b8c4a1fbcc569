"""Time cpqctl at scale next to its floors and print a Markdown table (SPEC §8 "Fast at scale").

    python bench/run.py [--sizes 1000 10000] [--runs 5] [--dir /tmp/cpq-bench] [--single]

``--single`` times only the single-record commands: the readers and the writes about one account (`quote new`,
`amend`, `renew C`, accepting an amendment), each write from the same state (see ``_single``).

For each size, a repository is generated once with bench/gen.py (same seed,
so the same repository on every machine) and timed:

- ``floor``: bench/floor_parse.py, libyaml parsing every file and nothing else;
- ``check cold``: ``cpqctl check`` with ``.cpq/cache`` deleted before each run
  (it parses everything and writes the cache);
- ``check warm``: ``cpqctl check`` again, every file from the cache;
- ``quote show``: one quote (made with ``quote new`` if the repository has
  none), touching only the files it needs;
- ``renew --due --dry-run``: every contract in its notice window, warm;
- ``invoice preview``: one contract, touching only its files (warm);
- ``report arr`` and ``report movements`` (a half year), warm;
- ``invoice run --dry-run`` through year end, warm: gen.py issues only each
  contract's first invoices, so this bills a backlog of several months;
- one month for real: on a copy billed through October, then November
  (``invoice run`` writing files, timed once each), December's first
  ``invoice run --dry-run`` (each timed run from the state November's run
  left), the same question asked again (its remembered answer), and the
  same with ``CPQ_BILLING=full`` (every contract's whole schedule compared,
  the path before issue 15).

Peak memory (max RSS) is measured once per command on an extra run, from the
child's own ``wait4`` resource usage (what ``/usr/bin/time -v`` reports).

Once, independent of size: ``cpqctl --help`` next to bench/minimal_typer.py
(a bare Typer app: the startup floor). Medians of ``--runs`` runs, measured
with hyperfine when installed, else with a plain timer; ratios are to the
floor. The target (issue "Speed at scale"): a warm check within 0.25× the
floor, ``--help`` within a few tens of ms of the bare Typer app.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = "2026-11-28"


def timed(name: str, command: str, runs: int, prepare: str | None = None, warmup: int = 0) -> float:
    """Median wall time in seconds of ``command`` (a shell line), ``prepare`` run before each."""
    hf = shutil.which("hyperfine")
    if hf:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            out = f.name
        args = [
            hf,
            "--style",
            "none",
            "--runs",
            str(runs),
            "--warmup",
            str(warmup),
            "--export-json",
            out,
            "-n",
            name,
            command,
        ]
        if prepare:
            args[1:1] = ["--prepare", prepare]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        result = json.loads(Path(out).read_text())["results"][0]
        os.unlink(out)
        return result["median"]
    times = []
    for i in range(warmup + runs):
        if prepare:
            subprocess.run(prepare, shell=True, check=True)
        t0 = time.perf_counter()
        subprocess.run(command, shell=True, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_rss_mb(command: str, prepare: str | None = None) -> float:
    """Max resident set size in MiB of one run of ``command`` (no shell: the measured process is cpqctl)."""
    if prepare:
        subprocess.run(prepare, shell=True, check=True)
    proc = subprocess.Popen(shlex.split(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return usage.ru_maxrss / 1024  # kB on Linux


def machine() -> str:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def _single(cpq: str, repo: Path, contract: str, quote: str, invoice: str | None) -> list[tuple[str, str, str | None]]:
    """(name, command, prepare) of every single-record command: the readers, then the writers about one account.

    Each write is timed from the same state: ``prepare`` puts back the contract file and removes the quotes
    written since (so `renew` creates its quote each time, `quote accept` accepts a fresh amendment quote).
    """
    r = shlex.quote(str(repo))
    day = f"--repo {r} --as-of {AS_OF}"
    account = "acct-00001"
    reads = [
        (f"contract show {contract}", f"{cpq} contract show {contract} {day}", None),
        (f"account show {account}", f"{cpq} account show {account} {day}", None),
        (f"account render {account}", f"{cpq} account render {account} -f md -o - {day}", None),
        (f"quote show {quote}", f"{cpq} quote show {quote} {day}", None),
        (f"invoice preview {contract}", f"{cpq} invoice preview {contract} {day}", None),
    ]
    if invoice:
        reads.append((f"invoice render {invoice}", f"{cpq} invoice render {invoice} -f md -o - --repo {r}", None))
    kept = repo.parent / f"{repo.name}.kept"
    kept.mkdir(exist_ok=True)
    crel = next(p for p in (repo / "contracts" / account).glob("*.yaml") if p.stem == contract)
    shutil.copy2(crel, kept / crel.name)
    (kept / "quotes.txt").write_text("\n".join(sorted(p.name for p in (repo / "quotes").glob("*.yaml"))))
    # what the writes add besides quotes: a contract (a new-business quote accepted), a payment, a correction
    (kept / "added.txt").write_text(
        "\n".join(
            sorted(
                str(p.relative_to(repo))
                for pattern in (f"contracts/{account}/*.yaml", "payments/*/*.yaml", "invoices/FK-*")
                for p in repo.glob(pattern)
            )
        )
    )
    py = shlex.quote(sys.executable)
    reset = (
        f'cp {shlex.quote(str(kept / crel.name))} {shlex.quote(str(crel))} && {py} -c "import pathlib, sys; '
        "q = pathlib.Path(sys.argv[1]); keep = set(pathlib.Path(sys.argv[2]).read_text().split()); "
        f"[p.unlink() for p in q.glob('*.yaml') if p.name not in keep]\" {r}/quotes {shlex.quote(str(kept / 'quotes.txt'))}"
        f' && {py} -c "import pathlib, sys; root = pathlib.Path(sys.argv[1]); '
        "keep = set(pathlib.Path(sys.argv[2]).read_text().split()); "
        f"[p.unlink() for pat in ('contracts/{account}/*.yaml', 'payments/*/*.yaml', 'invoices/FK-*') "
        f'for p in root.glob(pat) if str(p.relative_to(root)) not in keep]" {r} {shlex.quote(str(kept / "added.txt"))}'
    )
    amend = f"{cpq} amend {contract} --effective 2026-12-10 --add PRO-SEAT=1 {day}"
    subprocess.run(f"{reset} && {amend}", shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fresh = sorted(
        set(p.name for p in (repo / "quotes").glob("*.yaml")) - set((kept / "quotes.txt").read_text().split())
    )
    subprocess.run(reset, shell=True, check=True)
    writes = [
        ("quote new (writes)", f"{cpq} quote new --account {account} --start 2027-01-01 -l PRO-SEAT=5 {day}", reset),
        (f"amend {contract} (writes)", amend, reset),
        (f"renew {contract} (writes)", f"{cpq} renew {contract} {day}", reset),
        (
            "quote accept, an amendment (writes)",
            f"{cpq} quote accept {fresh[0][:-5]} --signed-by Anna {day}",
            f"{reset} && {amend} > /dev/null 2>&1",
        ),
        (
            "quote accept, new business (writes)",
            f"{cpq} quote accept {fresh[0][:-5]} --signed-by Anna {day}",
            f"{reset} && {cpq} quote new --account {account} --start 2027-01-01 -l PRO-SEAT=5 {day} > /dev/null 2>&1",
        ),
        ("payment record (writes)", f"{cpq} payment record --account {account} --amount 10.00 {day}", reset),
    ]
    if invoice:
        writes.append(
            (f"invoice correct {invoice} (writes)", f"{cpq} invoice correct {invoice} --reason bench {day}", reset)
        )
    return reads + writes


def _code(py: str) -> str:
    """The digest of the installed cpqctl's source, which keys its memos (:func:`cpqctl.load.remembered.code_digest`)."""
    return subprocess.run(
        f"{py} -c 'from cpqctl.load.remembered import code_digest; print(code_digest().hex())'",
        shell=True,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _stamp(billed: Path) -> Path:
    """Where the code that made a billed copy's saved memo is written down."""
    return billed.parent / f"{billed.name}.quiet.code"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cold-runs", type=int, default=3, help="runs of the slow ones (floor, cold check)")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "cpq-bench")
    ap.add_argument("--single", action="store_true", help="only the single-record commands (reads and writes)")
    ap.add_argument(
        "--memory", action="store_true", help="also each whole-model command once on the billed copy (max RSS)"
    )
    args = ap.parse_args(argv)
    # as installed by pip, cpqctl runs from compiled bytecode: a machine that sets PYTHONDONTWRITEBYTECODE (this
    # sandbox does) would compile every module imported on every run (~0.05 s of each command's start)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

    py = shlex.quote(sys.executable)
    cpq = f"{py} -m cpqctl"
    rows: list[tuple[str, str, float, str, str]] = []

    def add(size: str, what: str, secs: float, ratio: str = "", rss: float | None = None) -> None:
        mem = f"{rss:.0f} MiB" if rss is not None else ""
        rows.append((size, what, secs, ratio, mem))
        print(f"{size:>7}  {what:<28} {secs:8.3f} s  {ratio:<14} {mem}", file=sys.stderr)

    help_s = timed("help", f"{cpq} --help", args.runs, warmup=1)
    typer_s = timed("typer", f"{py} {shlex.quote(str(HERE / 'minimal_typer.py'))} --help", args.runs, warmup=1)
    add("-", "minimal Typer --help", typer_s)
    add("-", "cpqctl --help", help_s, f"{help_s / typer_s:.2f}× minimal Typer (+{(help_s - typer_s) * 1000:.0f} ms)")

    for n in args.sizes:
        repo = args.dir / f"accounts-{n}"
        if not (repo / "cpq.toml").is_file():
            print(f"generating {repo} …", file=sys.stderr)
            subprocess.run(
                [sys.executable, str(HERE / "gen.py"), str(repo), "--accounts", str(n)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        r = shlex.quote(str(repo))
        if not sorted(repo.glob("quotes/*.yaml")):  # gen.py writes no quotes: price one, as a user would
            subprocess.run(
                f"{cpq} quote new --account acct-00001 --start 2027-01-01 --line PRO-SEAT=10 "
                f"--line SSO=1 --repo {r} --as-of {AS_OF}",
                shell=True,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        quote = sorted(repo.glob("quotes/*.yaml"))[0].stem
        contract = sorted(
            p.stem for p in (repo / "contracts" / "acct-00001").glob("*.yaml") if p.name != "account.yaml"
        )[0]
        # an invoice of acct-00001's contract (gen.py issues each contract's first ones), for `invoice render`
        invoice = next(
            (f.stem for f in sorted((repo / "invoices").glob("*.yaml")) if f"contract: {contract}\n" in f.read_text()),
            None,
        )
        runs = args.cold_runs if n >= 50000 else args.runs
        if args.single:
            time.sleep(2.1)
            for what, command, prepare in _single(cpq, repo, contract, quote, invoice):
                secs = timed(what, command, args.runs, prepare=prepare, warmup=1)
                add(str(n), what, secs, "", peak_rss_mb(command, prepare))
            continue
        floor_cmd = f"{py} {shlex.quote(str(HERE / 'floor_parse.py'))} {r}"
        floor = timed("floor", floor_cmd, args.cold_runs, warmup=1)
        add(str(n), "floor (libyaml parse)", floor, "1.00× floor", peak_rss_mb(floor_cmd))
        drop = f"rm -rf {shlex.quote(str(repo / '.cpq' / 'cache'))}"
        cold = timed("check cold", f"{cpq} check --repo {r}", args.cold_runs, prepare=drop)
        add(
            str(n),
            "check, cold cache",
            cold,
            f"{cold / floor:.2f}× floor",
            peak_rss_mb(f"{cpq} check --repo {r}", prepare=drop),
        )
        # the cache floor: reading and decoding the parse cache's files, nothing else
        # (JSON lines since cache format 5: the head and every entry decoded, each line's path as its key)
        cache_cmd = (
            f"{py} -c \"import json, pathlib, sys; [[json.loads(x.partition(b'\\t')[2] or x) for x in "
            f"p.read_bytes().split(b'\\n') if x] for p in pathlib.Path(sys.argv[1]).glob('.cpq/cache/shard-*.json')]\" {r}"
        )
        cache_floor = timed("cache floor", cache_cmd, runs, warmup=1)
        add(str(n), "cache floor (read the parse cache)", cache_floor, f"{cache_floor / floor:.2f}× floor")
        # files written in the last 2 s are never cached (racy mtimes): let the tree age once
        time.sleep(2.1)
        one = [
            (f"contract show {contract}", f"{cpq} contract show {contract} --repo {r} --as-of {AS_OF}"),
            ("account show acct-00001", f"{cpq} account show acct-00001 --repo {r} --as-of {AS_OF}"),
            ("account render acct-00001", f"{cpq} account render acct-00001 -f md -o - --repo {r} --as-of {AS_OF}"),
            (f"quote show {quote}", f"{cpq} quote show {quote} --repo {r} --as-of {AS_OF}"),
            (f"invoice preview {contract}", f"{cpq} invoice preview {contract} --repo {r} --as-of {AS_OF}"),
        ]
        if invoice:
            one.append((f"invoice render {invoice}", f"{cpq} invoice render {invoice} -f md -o - --repo {r}"))
        warm_commands = [
            ("check, warm cache", f"{cpq} check --repo {r}"),
            *one,
            ("renewals", f"{cpq} renewals --repo {r} --as-of {AS_OF} --format json"),
            ("renew --due --dry-run", f"{cpq} renew --due --dry-run --repo {r} --as-of {AS_OF}"),
            ("report arr", f"{cpq} report arr --repo {r} --as-of {AS_OF} --format json"),
            (
                "report movements (6 months)",
                f"{cpq} report movements --from 2026-01-01 --to 2026-06-30 --repo {r} --format json",
            ),
            (
                "report movements (1 year)",
                f"{cpq} report movements --from 2026-01-01 --to 2026-12-31 --repo {r} --format json",
            ),
            (
                "invoice run --dry-run (backlog)",
                f"{cpq} invoice run --through 2026-12-31 --dry-run --repo {r} --as-of 2026-12-01 --format json",
            ),
        ]
        for what, command in warm_commands:
            secs = timed(what, command, runs, warmup=1)
            ratio = f"{secs / floor:.2f}× floor, {secs / cache_floor:.1f}× cache floor"
            add(str(n), what, secs, ratio, peak_rss_mb(command))
        # gen.py issues only each contract's first invoices, so the run above bills a backlog of months.
        # One month for real: on a copy, issue everything through November, then time December's run.
        billed = args.dir / f"accounts-{n}-billed-2026-11"
        if not (billed / "cpq.toml").is_file():
            shutil.rmtree(billed, ignore_errors=True)
            shutil.copytree(repo, billed, ignore=shutil.ignore_patterns(".cpq"))
            # bench/bill.py: `invoice run`'s use case without rendering each invoice's kept PDF (≈ 23,700 of them).
            # The backlog through October, then November's month-end run (it writes November's invoices and
            # leaves the memo of contracts with nothing due, .cpq/cache/billing-quiet.json, as any run does)
            for through, what in (("2026-10-31", "backlog through October"), ("2026-11-30", "November's run")):
                t0 = time.perf_counter()
                subprocess.run(
                    [sys.executable, str(HERE / "bill.py"), str(billed), "--through", through],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                add(str(n), f"invoice run (no documents), {what}", time.perf_counter() - t0, "1 run, writes files")
            shutil.copy(billed / ".cpq/cache/billing-quiet.json", billed.parent / f"{billed.name}.quiet.json")
            _stamp(billed).write_text(_code(py), encoding="utf-8")
        b = shlex.quote(str(billed))
        stamp = _stamp(billed)
        if (stamp.read_text(encoding="utf-8") if stamp.is_file() else "") != _code(py):
            # the memo of quiet contracts is keyed by the code that made it: with other code installed, every
            # contract would be computed. November's run made again (nothing left to issue) leaves this code's memo,
            # as the month's run would have left it
            t0 = time.perf_counter()
            subprocess.run(
                f"{cpq} invoice run --through 2026-11-30 --repo {b} --as-of 2026-11-30",
                shell=True,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            add(
                str(n), "invoice run, November again (this code's memo)", time.perf_counter() - t0, "1 run, nothing new"
            )
            shutil.copy(billed / ".cpq/cache/billing-quiet.json", billed.parent / f"{billed.name}.quiet.json")
            _stamp(billed).write_text(_code(py), encoding="utf-8")
        # the billed copy holds the year's invoices (58,000 files at 10,000 accounts, not gen.py's 25,000): its
        # runs are compared with its own floor
        billed_floor_cmd = f"{py} {shlex.quote(str(HERE / 'floor_parse.py'))} {b}"
        floor = timed("floor, billed", billed_floor_cmd, args.cold_runs, warmup=1)
        add(str(n), "floor of the repository billed through November", floor, "1.00× floor")
        month = f"{cpq} invoice run --through 2026-12-31 --dry-run --repo {b} --as-of 2026-12-01 --format json"
        # December's first run: each timed run starts from the state November's run left (its memo of quiet
        # contracts; no remembered answer to this question, which a second identical run would read)
        first = (
            f"cp {shlex.quote(str(billed.parent / f'{billed.name}.quiet.json'))} {b}/.cpq/cache/billing-quiet.json"
            f" && rm -f {b}/.cpq/cache/invoice-run.json"
        )
        secs = timed("invoice run month", month, runs, prepare=first, warmup=1)
        add(
            str(n),
            "invoice run --dry-run (December, the month's first run)",
            secs,
            f"{secs / floor:.2f}× floor",
            peak_rss_mb(month, prepare=first),
        )
        secs = timed("invoice run month, again", month, runs, warmup=1)
        add(str(n), "the same question again (remembered answer)", secs, f"{secs / floor:.2f}× floor")
        # issue 15: the same run comparing every contract's whole schedule (the reference path)
        secs = timed("invoice run month, full", f"CPQ_BILLING=full {month}", runs, prepare=first, warmup=1)
        add(str(n), "the same, CPQ_BILLING=full", secs, f"{secs / floor:.2f}× floor")
        # issue 21: a month with nothing new (November asked on November 30th, after November's run), first ask
        quiet = f"{cpq} invoice run --through 2026-11-30 --dry-run --repo {b} --as-of 2026-11-30 --format json"
        secs = timed("invoice run, nothing new", quiet, runs, prepare=first, warmup=1)
        add(
            str(n),
            "invoice run --dry-run, a month with nothing new (first ask)",
            secs,
            f"{secs / floor:.2f}× floor",
            peak_rss_mb(quiet, prepare=first),
        )
        if not args.memory:
            continue
        # issue 21, "≤ 0.5 GB for any command": the commands that load the whole model, on the billed copy, once
        # each (time and max RSS of that one run); `check` computed, its remembered answer deleted first
        forget = f"rm -f {b}/.cpq/cache/check.json {b}/.cpq/cache/check-errors.json"
        day = f"--repo {b} --as-of 2026-12-31"
        for what, command, prepare in (
            ("check, computed (billed)", f"{cpq} check --repo {b}", forget),
            ("check, remembered (billed)", f"{cpq} check --repo {b}", None),
            ("invoice list (billed)", f"{cpq} invoice list {day} --format json", None),
            ("report ar (billed)", f"{cpq} report ar {day} --format json", None),
            ("report board (billed)", f"{cpq} report board {day} --format json", None),
            ("dunning run --dry-run (billed)", f"{cpq} dunning run --dry-run {day} --format json", None),
            ("journal (billed)", f"{cpq} journal {day} --format json", None),
            ("renew --due --dry-run, computed (billed)", f"{cpq} renew --due --dry-run {day}", None),
            ("report revenue, 1 year (billed)", f"{cpq} report revenue --from 2026-01-01 {day} --format json", None),
            ("report deferred, 1 year (billed)", f"{cpq} report deferred --from 2026-01-01 {day} --format json", None),
            (
                "report waterfall, 1 year (billed)",
                f"{cpq} report waterfall --from 2026-01-01 {day} --format json",
                None,
            ),
            ("report rpo (billed)", f"{cpq} report rpo {day} --format json", None),
            ("export csv (billed)", f"{cpq} export -o {shlex.quote(str(args.dir / 'export'))} {day}", None),
            ("account list (billed)", f"{cpq} account list {day} --format json", None),
        ):
            t0 = time.perf_counter()
            rss = peak_rss_mb(command, prepare)
            add(str(n), what, time.perf_counter() - t0, "1 run", rss)

    print(f"Machine: {machine()}\n")
    print("| accounts | command | median | ratio | max RSS |")
    print("|---:|---|---:|---|---:|")
    for size, what, secs, ratio, mem in rows:
        print(f"| {size} | {what} | {secs:.3f} s | {ratio} | {mem} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
