"""A/B timing of two installed versions of cpqctl on the same generated repository, interleaved, medians.

    python bench/ab.py [RUNS]

Set up (as for the application-layer change: before = e3b79d0, after = b67765a):

    git worktree add /tmp/before e3b79d0 && python3 -m venv /tmp/venv-before && /tmp/venv-before/bin/pip install /tmp/before
    git worktree add /tmp/after b67765a && python3 -m venv /tmp/venv-after && /tmp/venv-after/bin/pip install /tmp/after
    python bench/gen.py /tmp/g10k --accounts 10000 && cp -r /tmp/g10k /tmp/g10k-b && cp -r /tmp/g10k /tmp/g10k-a

Each version gets its own copy of the repository: the parse cache is keyed on the loader's code, so two
versions sharing one copy would rebuild each other's cache on every run. Runs alternate A/B, B/A so that a
machine whose load changes during the measurement weighs on both sides alike.
"""

import os
import statistics
import subprocess
import sys
import time

AS_OF = "2026-11-28"
B = os.environ.get("CPQ_AB_BEFORE", "/tmp/venv-before/bin/cpqctl")  # the two cpqctl executables
A = os.environ.get("CPQ_AB_AFTER", "/tmp/venv-after/bin/cpqctl")
RB = os.environ.get("CPQ_AB_BEFORE_REPO", "/tmp/g10k-b")  # a copy of the generated repository for each
RA = os.environ.get("CPQ_AB_AFTER_REPO", "/tmp/g10k-a")
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
env = {**os.environ, "CPQ_PROGRESS": "0"}
for cpq, r in ((B, RB), (A, RA)):
    if not os.listdir(r + "/quotes") if os.path.isdir(r + "/quotes") else True:
        subprocess.run(
            [
                cpq,
                "quote",
                "new",
                "--account",
                "acct-00001",
                "--start",
                "2027-01-01",
                "--line",
                "PRO-SEAT=10",
                "--line",
                "SSO=1",
                "--repo",
                r,
                "--as-of",
                AS_OF,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
        )
    subprocess.run([cpq, "check", "--repo", r], stdout=subprocess.DEVNULL, env=env)  # warm the cache
time.sleep(2.2)
for cpq, r in ((B, RB), (A, RA)):
    subprocess.run([cpq, "check", "--repo", r], stdout=subprocess.DEVNULL, env=env)
quote = sorted(os.listdir(RA + "/quotes"))[0][:-5]
C = "C-2026-00001"
cmds = [
    ("--help", ["--help"]),
    ("check, warm", ["check"]),
    ("quote show", ["quote", "show", quote, "--as-of", AS_OF]),
    ("invoice preview", ["invoice", "preview", C, "--as-of", AS_OF]),
    ("contract show", ["contract", "show", C, "--as-of", AS_OF]),
    ("renew --due --dry-run", ["renew", "--due", "--dry-run", "--as-of", AS_OF]),
    ("report arr", ["report", "arr", "--as-of", AS_OF, "--format", "json"]),
    ("report movements", ["report", "movements", "--from", "2026-01-01", "--to", "2026-06-30", "--format", "json"]),
    (
        "invoice run --dry-run",
        ["invoice", "run", "--through", "2026-12-31", "--dry-run", "--as-of", "2026-12-01", "--format", "json"],
    ),
    (
        "quote new --dry-run (writing path)",
        [
            "quote",
            "new",
            "--account",
            "acct-00002",
            "--start",
            "2027-01-01",
            "--line",
            "PRO-SEAT=5",
            "--dry-run",
            "--as-of",
            AS_OF,
        ],
    ),
]
print("| command (10,000 accounts, warm) | before | after | after/before |\n|---|---:|---:|---:|")
for name, args in cmds:
    tb, ta = [], []
    for i in range(runs):
        for cpq, r, out in ((B, RB, tb), (A, RA, ta)) if i % 2 == 0 else ((A, RA, ta), (B, RB, tb)):
            extra = [] if args == ["--help"] else ["--repo", r]
            t0 = time.perf_counter()
            p = subprocess.run([cpq, *args, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            out.append(time.perf_counter() - t0)
            if p.returncode not in (0,):
                print(name, cpq, p.returncode, p.stderr[-300:], file=sys.stderr)
    b, a = statistics.median(tb), statistics.median(ta)
    print(f"| {name} | {b:.3f} s | {a:.3f} s | {a / b:.2f} |", flush=True)
