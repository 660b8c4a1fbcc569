"""Provisioning after a customer signs (docs/portal.md#provisioning): cpq.toml ``[hooks]``.

- ``on_accept``: a command, split like a shell would (no shell runs it), started in the repository with the
  account's entitlements JSON on stdin; exit status 0 is success.
- ``webhook``: an http(s) URL the same JSON is POSTed to, with ``X-Cpq-Signature: sha256=<hex>``, the HMAC-SHA256
  of the body under the secret in the environment variable ``webhook_secret_env``; a 2xx answer is success.

The entitlements JSON is `cpqctl account show ACCOUNT --format json` on the day, plus ``event``: what was signed.
A hook that fails never undoes the acceptance (it is recorded first): the event is queued in ``.cpq/portal/outbox/``
and :func:`retry` (`cpqctl portal provision --retry`, and the portal server every minute) sends it again, with
the entitlements as they are then, until it succeeds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shlex
import subprocess
from dataclasses import dataclass
from datetime import date

from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError

OUTBOX = ".cpq/portal/outbox"
DEFAULT_TIMEOUT = 30


@dataclass(frozen=True)
class Provisioned:
    """What provisioning did for one event: its steps (``on_accept: ok``…) and, when one failed, why (queued)."""

    account: str
    event: str
    steps: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def data(self) -> dict:
        return {"account": self.account, "event": self.event, "steps": list(self.steps), "problem": self.problem}


def entitlements(ws: Workspace, account: str, event: str, day: date) -> bytes:
    """The JSON a hook receives: the account as `account show` gives it (E-UNKNOWN-ACCOUNT for no account), and
    the event."""
    from cpqctl.render.output import dumps_json

    data = dict(ws.account(account, as_of=day).data)
    data["event"] = {"what": event, "date": day.isoformat()}
    return dumps_json(data).encode("utf-8")


def provision(ws: Workspace, account: str, event: str, *, as_of: date | None = None) -> Provisioned:
    """Run ``[hooks]`` for ``account`` after ``event``; a failure is queued for :func:`retry`, never raised."""
    day = ws.day(as_of)
    body = entitlements(ws, account, event, day)
    hooks = ws.read(frozenset()).settings.hooks
    if not hooks.get("on_accept") and not hooks.get("webhook"):
        return Provisioned(account, event)
    steps, problem = _run(hooks, body, ws)
    if problem:
        _queue(ws, account, event, day, problem)
    return Provisioned(account, event, tuple(steps), problem)


def _run(hooks, body: bytes, ws: Workspace) -> tuple[list[str], str | None]:
    timeout = int(hooks.get("timeout", DEFAULT_TIMEOUT))
    steps: list[str] = []
    if cmd := hooks.get("on_accept"):
        try:
            done = subprocess.run(
                shlex.split(str(cmd)), input=body, capture_output=True, timeout=timeout, cwd=ws.root, check=False
            )
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            return steps, f"on_accept failed: {exc}"
        if done.returncode:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            return steps, f"on_accept exited {done.returncode}: {tail[0][:200]}"
        steps.append("on_accept: ok")
    if url := hooks.get("webhook"):
        problem = _post(str(url), body, hooks, timeout)
        if problem:
            return steps, problem
        steps.append("webhook: ok")
    return steps, None


def _post(url: str, body: bytes, hooks, timeout: int) -> str | None:
    import urllib.error
    import urllib.request

    if not url.startswith(("https://", "http://")):
        return f"webhook {url!r} is not an http(s) URL"
    name = str(hooks.get("webhook_secret_env", "CPQ_WEBHOOK_SECRET"))
    key = os.environ.get(name, "")
    if not key:
        return f"webhook not sent: the environment variable {name} (its HMAC secret) is not set"
    signature = hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Cpq-Signature": f"sha256={signature}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            if not 200 <= answer.status < 300:
                return f"webhook answered {answer.status}"
    except urllib.error.HTTPError as exc:
        return f"webhook answered {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"webhook failed: {getattr(exc, 'reason', exc)}"
    return None


def _queue(ws: Workspace, account: str, event: str, day: date, problem: str) -> None:
    folder = ws.root / OUTBOX
    folder.mkdir(parents=True, exist_ok=True)
    from cpqctl.store import replace_file

    name = hashlib.sha256(f"{account}\n{event}".encode()).hexdigest()[:16] + ".json"
    entry = {"account": account, "event": event, "date": day.isoformat(), "problem": problem}
    replace_file(folder / name, (json.dumps(entry) + "\n").encode("utf-8"), durable=True)  # a retry must not be lost


def pending(ws: Workspace) -> list[dict]:
    """The queued events (oldest first by name), each with its last problem."""
    folder = ws.root / OUTBOX
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append({**json.loads(path.read_text(encoding="utf-8")), "file": path.name})
        except (OSError, ValueError):
            continue
    return out


def retry(ws: Workspace, *, as_of: date | None = None) -> list[Provisioned]:
    """Run the hooks again for every queued event; a success leaves the queue, a failure stays with its reason."""
    day = ws.day(as_of)
    hooks = ws.read(frozenset()).settings.hooks
    results = []
    for row in pending(ws):
        try:
            body = entitlements(ws, row["account"], row["event"], day)
        except CpqError as e:
            results.append(Provisioned(row["account"], row["event"], (), e.message))
            continue
        steps, problem = _run(hooks, body, ws)
        if problem:
            _queue(ws, row["account"], row["event"], day, problem)
        else:
            (ws.root / OUTBOX / row["file"]).unlink(missing_ok=True)
        results.append(Provisioned(row["account"], row["event"], tuple(steps), problem))
    return results
