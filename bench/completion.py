"""Time shell completion of IDs end to end, as a shell runs it, on the 10,000-account benchmark repository.

    python bench/completion.py [--accounts 10000] [--quotes 12000] [--runs 11] [--dir /tmp/cpq-bench]

What a TAB costs: the installed ``cpqctl`` console script started in a fresh
process with the environment bash's (``complete_bash``: ``COMP_WORDS``,
``COMP_CWORD``) or zsh's (``complete_zsh``: ``_TYPER_COMPLETE_ARGS``) completion
function gives it (Typer's scripts, ``cpqctl --show-completion``), its candidates
read from stdout. Medians of ``--runs`` runs after one warm-up, wall time.

The repository is bench/gen.py's (generated into ``--dir`` as bench/run.py does,
and shared with it). gen.py writes no quotes, while a real repository of 10,000
contracts holds at least as many (each contract was accepted from one); so the
quotes are added to a copy, ``accounts-N-quotes`` (run.py's repository stays as it
is): one draft made with ``quote new``, then ``--quotes`` copies of it under other
IDs, half of them Q-2025-…, half Q-2026-… (``Q-20<TAB>`` then lists every one of
them: the worst case). The copies are valid drafts (``check`` passes).

The target (issue 18): ``cpqctl quote show Q-20<TAB>`` under 300 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = "2026-11-28"


def cpqctl() -> str:
    """The installed console script next to this interpreter (what a shell runs), else the one on PATH."""
    here = Path(sys.executable).with_name("cpqctl")
    return str(here) if here.is_file() else (shutil.which("cpqctl") or "cpqctl")


def complete_env(shell: str, line: str) -> dict[str, str]:
    """The environment the shell's completion function gives cpqctl for the command ``line`` (cursor at its end)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CPQ_", "_CPQCTL_", "_TYPER_", "COMP_"))}
    if shell == "bash":
        words = line.split(" ")
        env.update(_CPQCTL_COMPLETE="complete_bash", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
    else:
        env.update(_CPQCTL_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS=line)
    return env


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    secs = time.perf_counter() - t0
    if proc.returncode != 0 or proc.stderr:
        raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr}")
    return secs, proc.stdout


def timed(argv: list[str], env: dict[str, str], cwd: Path, runs: int, prepare=None) -> tuple[float, float, float, str]:
    """(median, min, max) seconds over ``runs`` runs after one warm-up, and the last output."""
    if prepare:
        prepare()
    _, out = run_once(argv, env, cwd)
    times = []
    for _ in range(runs):
        if prepare:
            prepare()
        secs, out = run_once(argv, env, cwd)
        times.append(secs)
    return statistics.median(times), min(times), max(times), out


def candidates(shell: str, out: str) -> int:
    if shell == "bash":
        return len([x for x in out.splitlines() if x])
    return 0 if out.strip() == "_files" else out.count('"\n"') + 1


def prepare_repo(base: Path, n: int, quotes: int) -> Path:
    """run.py's generated repository (made when missing) and a copy of it holding ``quotes`` + 1 quotes."""
    repo = base / f"accounts-{n}"
    if not (repo / "cpq.toml").is_file():
        print(f"generating {repo} …", file=sys.stderr)
        subprocess.run(
            [sys.executable, str(HERE / "gen.py"), str(repo), "--accounts", str(n)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    copy = base / f"accounts-{n}-quotes"
    if (copy / "quotes").is_dir() and any((copy / "quotes").glob("*.yaml")):
        return copy
    print(f"copying {repo} to {copy} and adding {quotes} quotes …", file=sys.stderr)
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(repo, copy, ignore=shutil.ignore_patterns(".cpq", "quotes"))
    subprocess.run(
        [cpqctl(), "quote", "new", "--account", "acct-00001", "--start", "2027-01-01", "--line", "PRO-SEAT=10"]
        + ["--line", "SSO=1", "--repo", str(copy), "--as-of", AS_OF, "-q"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (first,) = (copy / "quotes").glob("*.yaml")
    text = first.read_text(encoding="utf-8")
    for i in range(quotes):
        qid = f"Q-{2025 + i % 2}-{i // 2 + 1:04d}"
        if qid != first.stem:
            (copy / "quotes" / f"{qid}.yaml").write_text(text.replace(first.stem, qid), encoding="utf-8")
    return copy


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--quotes", type=int, default=12000, help="quote files in the timed repository")
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "cpq-bench")
    args = ap.parse_args(argv)

    repo = prepare_repo(args.dir, args.accounts, args.quotes)
    exe = cpqctl()
    nowhere = Path(tempfile.mkdtemp(prefix="cpq-no-repo-"))
    cache = repo / ".cpq" / "cache" / "contract-ids.json"

    def drop_cache() -> None:
        cache.unlink(missing_ok=True)

    contract_prefix = "C-2026-000"
    cases = [
        ("-", "cpqctl --help", None, repo, None),
        ("bash", "cpqctl quote show Q-20<TAB>", "cpqctl quote show Q-20", repo, None),
        ("zsh", "cpqctl quote show Q-20<TAB>", "cpqctl quote show Q-20", repo, None),
        ("bash", "cpqctl quote show Q-2026-010<TAB>", "cpqctl quote show Q-2026-010", repo, None),
        ("bash", "cpqctl quote show q-2026-010<TAB> (any case)", "cpqctl quote show q-2026-010", repo, None),
        ("bash", f"cpqctl contract show {contract_prefix}<TAB>", f"cpqctl contract show {contract_prefix}", repo, None),
        (
            "bash",
            f"cpqctl contract show {contract_prefix}<TAB>, no cache",
            f"cpqctl contract show {contract_prefix}",
            repo,
            drop_cache,
        ),
        ("bash", "cpqctl account show acct-0001<TAB>", "cpqctl account show acct-0001", repo, None),
        ("bash", "cpqctl invoice render INV-2026-000<TAB>", "cpqctl invoice render INV-2026-000", repo, None),
        ("bash", "cpqctl quote new --line S<TAB>", "cpqctl quote new --line S", repo, None),
        ("bash", "cpqctl quote show Q-20<TAB>, no repository", "cpqctl quote show Q-20", nowhere, None),
    ]
    rows = []
    for shell, what, line, cwd, prepare in cases:
        if line is None:
            argv_, env = [exe, "--help"], {k: v for k, v in os.environ.items() if not k.startswith("_CPQCTL_")}
        else:
            argv_, env = [exe], complete_env(shell, line)
        median, low, high, out = timed(argv_, env, cwd, args.runs, prepare)
        n = candidates(shell, out) if line is not None else 0
        rows.append((shell, what, median, low, high, n))
        print(
            f"{shell:<5} {what:<52} {median * 1000:7.0f} ms  ({low * 1000:.0f}–{high * 1000:.0f})  {n}", file=sys.stderr
        )
    shutil.rmtree(nowhere, ignore_errors=True)

    listing = listing_times(repo, args.runs)

    quotes = len(list((repo / "quotes").glob("*.yaml")))
    print(f"\n{args.accounts} accounts, {quotes} quotes; {args.runs} runs each (after one warm-up), wall time\n")
    print("| shell | completion | median | min–max | candidates |")
    print("|---|---|---:|---:|---:|")
    for shell, what, median, low, high, n in rows:
        print(f"| {shell} | `{what}` | {median * 1000:.0f} ms | {low * 1000:.0f}–{high * 1000:.0f} ms | {n or ''} |")
    print("\nThe listing alone (cpqctl.load.ids in this process, no start-up), medians:\n")
    print("| listing | median | IDs |")
    print("|---|---:|---:|")
    for what, median, n in listing:
        print(f"| {what} | {median * 1000:.1f} ms | {n} |")
    return 0


def listing_times(repo: Path, runs: int) -> list[tuple[str, float, int]]:
    """What the candidates cost without the interpreter and Typer: each lister timed in this process."""
    sys.path.insert(0, str(HERE.parent))
    from cpqctl.load import ids

    cache = repo / ".cpq" / "cache" / "contract-ids.json"
    out = []
    for what, call, before in (
        ("quote IDs `Q-20`", lambda: ids.quote_ids(repo, "Q-20"), None),
        ("contract IDs `C-2026-000`", lambda: ids.contract_ids(repo, "C-2026-000"), None),
        ("contract IDs `C-2026-000`, no cache", lambda: ids.contract_ids(repo, "C-2026-000"), cache),
        ("account IDs `acct-0001`", lambda: ids.account_ids(repo, "acct-0001"), None),
        ("invoice numbers `INV-2026-000`", lambda: ids.invoice_ids(repo, "INV-2026-000"), None),
        ("product codes `S`", lambda: ids.product_codes(repo, "S"), None),
    ):
        times, n = [], 0
        for _ in range(runs + 1):
            if before is not None:
                before.unlink(missing_ok=True)
            t0 = time.perf_counter()
            n = len(call())
            times.append(time.perf_counter() - t0)
        out.append((what, statistics.median(times[1:]), n))
        print(f"listing {what:<40} {out[-1][1] * 1000:7.1f} ms  {n}", file=sys.stderr)
    return out


if __name__ == "__main__":
    sys.exit(main())
