"""The console script's first module: it starts what a command line will need from a child process
(:mod:`cpqctl.load.forked`) before the CLI is imported, then runs the CLI (:func:`cpqctl.cli.main.run`).

Importing Typer, Rich and the commands takes most of a short command's time (≈ 0.15 s). One command needs
more than that of system calls whatever the repository's size: accepting a quote that creates a contract,
whose number must pass every account folder's contract names (:func:`cpqctl.load.ids.contract_state`, 0.2 s at
50,000 accounts). Started here, that listing runs on another CPU while this process imports the CLI; the
command takes it (:class:`cpqctl.app.quotes._ContractHigh`) and checks it under the lock. What is read here is
the command line as given: the first ``quote accept`` in it, the quote any later argument names (a file
``quotes/<ARG>.yaml``), and the repository (``--repo``, ``CPQ_REPO``, else the folder upwards with cpq.toml)
— a guess only: when it is wrong, nothing takes the child and it is killed at exit.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def run() -> None:
    _prefetch(sys.argv[1:])
    from cpqctl.cli.main import run as main

    main()


def _prefetch(args: list[str]) -> None:
    try:
        i = next(i for i in range(len(args) - 1) if args[i] == "quote" and args[i + 1] == "accept")
    except StopIteration:
        return
    if any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return  # shell completion
    from cpqctl.load import forked, ids

    explicit = next((args[j + 1] for j in range(len(args) - 1) if args[j] == "--repo"), None)
    explicit = explicit or next((a[len("--repo=") :] for a in args if a.startswith("--repo=")), None)
    root = ids.find_root(explicit or os.environ.get("CPQ_REPO") or None)
    if root is None:
        return
    quotes = [a for a in args[i + 2 :] if ids.ID_RE.fullmatch(a) and Path(root, "quotes", f"{a}.yaml").is_file()]
    if len(quotes) == 1:
        forked.prefetch(ids.contract_state_key(root, quotes[0]), ids.contract_state, root, quotes[0])
