"""Time a month's writing `invoice run` on a copy of a billed repository, in parts and (``--whole``) loaded whole.

    python bench/write_run.py REPO --through 2026-12-31 --as-of 2026-12-01 [--whole]

REPO is a repository billed through the month before (`bench/gen.py`, then `bench/bill.py`); it is not changed.
Each run works on its own copy: `cpqctl check` first (the monthly job's first step, whose answer the run reads),
then the writing run, then the run once more (nothing left to invoice: it trusts the state the first left). Each
line gives the wall time and the peak memory (max RSS from ``wait4``). With ``--whole`` the same on a second copy
with the parts turned off (``CPQ_CHUNK_FILES``), and the two copies' files and outputs compared byte for byte.
Every invoice is written with its Markdown and PDF: tens of milliseconds an invoice.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rusage_run(args: list[str], env: dict[str, str]) -> tuple[bytes, float, float, int]:
    """Run ``args``; its stdout, wall time, max RSS in MiB and exit code."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    return out, time.perf_counter() - t0, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--through", required=True)
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--whole", action="store_true", help="also load it whole, and compare")
    args = ap.parse_args()
    cpq = shutil.which("cpqctl") or "cpqctl"
    outputs = {}
    with tempfile.TemporaryDirectory(prefix="cpq-write-run-") as tmp:
        for mode in ("parts", "whole") if args.whole else ("parts",):
            root = Path(tmp) / mode
            shutil.copytree(args.repo, root, symlinks=True)
            env = {**os.environ, **({"CPQ_CHUNK_FILES": "1000000000"} if mode == "whole" else {})}
            common = ["--repo", str(root), "--as-of", args.as_of]
            for name, cmd in (
                ("check", [cpq, "check", "--format", "concise", *common]),
                ("invoice run", [cpq, "invoice", "run", "--through", args.through, "--format", "json", *common]),
                ("invoice run again", [cpq, "invoice", "run", "--through", args.through, "--format", "json", *common]),
            ):
                out, wall, rss, code = _rusage_run(cmd, env)
                print(f"{mode:5}  {name:18} {wall:7.1f} s {rss:6.0f} MiB  exit {code}", flush=True)
                if name == "invoice run":
                    outputs[mode] = out
        if args.whole:
            same_out = outputs["parts"] == outputs["whole"]
            diff = filecmp.dircmp(Path(tmp) / "parts" / "invoices", Path(tmp) / "whole" / "invoices")
            same_files = not (diff.left_only or diff.right_only or diff.diff_files) and all(
                filecmp.cmp(Path(tmp) / "parts" / "invoices" / n, Path(tmp) / "whole" / "invoices" / n, shallow=False)
                for n in diff.common_files
            )
            print(f"outputs identical: {same_out}; invoices/ identical: {same_files}")
            return 0 if same_out and same_files else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
