"""What every command shares: global options, the repo, the as-of date, the error boundary.

Kept light: importing this module must not import Jinja, the PDF engine or the
pricing engine (``cpqctl --help`` stays instant).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

import click
import typer
import typer.core
from typer.core import TyperCommand, TyperGroup

from cpqctl.cli import completion
from cpqctl.core.diagnostics import CpqError, UsageError


@dataclass
class _State:
    repo: str | None = None
    as_of: str | None = None
    quiet: bool = False
    no_color: bool = bool(os.environ.get("NO_COLOR"))


STATE = _State()

RepoOpt = Annotated[
    Path | None,
    typer.Option(
        "--repo",
        envvar="CPQ_REPO",
        show_default=False,
        metavar="PATH",
        help="The data repository (default: the nearest folder upwards holding cpq.toml).",
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        envvar="CPQ_AS_OF",
        show_default=False,
        metavar="DATE",
        help="The date the command runs on, YYYY-MM-DD (default: today). The only clock cpqctl reads.",
    ),
]
DocFormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        click_type=click.Choice(["md", "pdf", "json"]),
        help="md (Markdown), pdf, or json (the data the templates get).",
    ),
]
ProductFilterOpt = Annotated[
    str | None,
    typer.Option("--product", click_type=completion.PRODUCT, metavar="CODE", help="Only those with this product."),
]
# A command that changes files and prints no table: what it did as text on stderr, or as JSON on stdout.
ResultFormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        click_type=click.Choice(["text", "json"]),
        help="text (a line on stderr) or json (what was done, on stdout; errors too).",
    ),
]
OutputOpt = Annotated[
    Path | None, typer.Option("-o", "--output", help="Output file (default out/<ID>.<ext>); - for stdout.")
]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help="Output format: table, json, csv or md.",
        click_type=click.Choice(["table", "json", "csv", "md"]),
    ),
]
PeriodOpt = Annotated[
    str | None,
    typer.Option(
        "--period",
        "-p",
        show_default=False,
        metavar="PERIOD",
        help="A range of days: 2027q1 (2027-Q1), 2027-03, 2027, 2027-03-15, this-month, last-month, "
        "this-quarter, last-quarter, this-year, last-year, or FROM..TO (2027-01..2027-03); relative forms "
        "count from --as-of.",
    ),
]


def parse_date(text: str, what: str = "date", option: str = "--as-of") -> date:
    """A date given on the command line: ``YYYY-MM-DD`` within the years a data file may hold (1900–2999);
    ``option`` is named in the hint of a refusal."""
    from cpqctl.load.schema import FIRST_DAY, LAST_DAY

    try:
        if len(text) != 10 or text[4] != "-" or text[7] != "-" or not text.replace("-", "").isascii():
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise UsageError("E-USAGE", f"`{text}` is not a {what} (YYYY-MM-DD)", f"e.g. {option} 2026-06-30") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UsageError(
            "E-DATE-RANGE",
            f"`{text}` is not a {what} cpqctl works with: the years 1900 to 2999",
            f"check the year (a typo?), e.g. {option} 2026-06-30",
        )
    return day


PERIOD_FORMS = "2027q1, 2027-03, 2027, last-month, this-quarter or D..D"


def bound(
    text: str | None, option: str, as_of_text: str | None = None, *, last: bool = False, opening: bool = False
) -> date | None:
    """One end of a date range (``--from`` / ``--to``): a date, or a period (:data:`PERIOD_FORMS`) whose first
    day (``last``: its last day; ``opening``: the day before it, a balance's opening day) it is —
    ``--from 2027q1 --to 2027q2`` is 2027-01-01..2027-06-30."""
    if text is None:
        return None
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return parse_date(text, "date", option)
    try:
        p = period(text, as_of_text)
    except UsageError:
        raise UsageError(
            "E-USAGE",
            f"`{text}` is neither a date (YYYY-MM-DD) nor a period",
            f"e.g. {option} 2026-06-30, or a period: {PERIOD_FORMS}",
        ) from None
    return p.end if last else p.opening if opening else p.start


def date_range(
    period_text: str | None, start: str | None, end: str | None, as_of_text: str | None = None
) -> tuple[date | None, date | None]:
    """``--period`` or ``--from``/``--to`` (each a date or a period) as (first, last) days; both: refused."""
    if period_text is not None:
        if start is not None or end is not None:
            raise UsageError(
                "E-USAGE", "--period and --from/--to both give the range", "give one: -p 2027q1, or --from/--to"
            )
        p = period(period_text, as_of_text)
        return p.start, p.end
    return bound(start, "--from", as_of_text), bound(end, "--to", as_of_text, last=True)


def days(text: str | None, option: str = "--within") -> int | None:
    """A window in days: ``90`` or ``90d``."""
    if text is None:
        return None
    digits = text[:-1] if text.endswith("d") else text
    if not digits.isascii() or not digits.isdigit():
        raise UsageError("E-USAGE", f"`{text}` is not a number of days", f"e.g. {option} 90 (or 90d)")
    return int(digits)


def as_of(value: str | None) -> date:
    text = value or STATE.as_of
    if text:
        return parse_date(text)
    return date.today()  # the one place the wall clock is read: the default of --as-of


def period(text: str, as_of_text: str | None = None):
    """``--period`` as a :class:`~cpqctl.core.periods.Period` (inclusive days), relative forms from ``--as-of``."""
    from cpqctl.core.periods import parse_period

    return parse_period(text, as_of(as_of_text))


def root(value: Path | None) -> Path:
    from cpqctl.load.repo import find_root

    return find_root(value or STATE.repo)


def workspace(repo: Path | None, as_of_text: str | None = None):
    """The :class:`~cpqctl.app.workspace.Workspace` of ``--repo`` on ``--as-of``, with the CLI's progress bar."""
    from cpqctl.app.workspace import Workspace

    day = as_of(as_of_text)  # --as-of is checked before the repository is looked for, as the commands always did
    return Workspace(root(repo), day, meter=progress)


@contextmanager
def progress():
    """A progress meter for long work (:mod:`cpqctl.progress`): a bar on an interactive stderr, else silent."""
    from cpqctl.progress import meter

    m = meter(STATE.quiet)
    try:
        yield m
    finally:
        m.close()


def lookup(mapping, key: str, kind: str, code: str, hint: str):
    from cpqctl.app.workspace import lookup

    return lookup(mapping, key, kind, code, hint)


def require_clean(diags) -> None:
    from cpqctl.app.workspace import require_clean

    require_clean(diags)


def info(msg: str) -> None:
    if not STATE.quiet:
        sys.stderr.write(msg + "\n")


def done(fmt: str, data: dict, message: str) -> None:
    """What a writing command did: ``message`` on stderr, and with ``--format json`` ``data`` on stdout too."""
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    info(message)


def report_error(e: CpqError) -> None:
    where = f"{e.src}: " if e.src is not None else ""
    sys.stderr.write(f"cpqctl: {where}error[{e.code}]: {e.message}\n")
    if e.hint:
        sys.stderr.write(f"  = hint: {e.hint}\n")


def exit_code(e: CpqError) -> int:
    """The one place a refusal becomes an exit code: 2 for unusable input — including an ID typed on the command
    line that names nothing (E-UNKNOWN-…, its source an option: `--line:1:1`, the first --line) — 1 for every
    other refusal (a business rule: a product that requires another, a quantity below zero)."""
    typed = (
        e.src is not None and str(getattr(e.src, "file", "")).startswith("--") and e.code.split("-")[1:2] == ["UNKNOWN"]
    )
    return 2 if isinstance(e, UsageError) or typed else 1


@contextmanager
def _plain_help():
    """Typer's plain help while our own ``--help`` is written, and only then.

    With rich importable, typer escapes the ``[default: …]`` of every option for
    rich markup even when ``rich_markup_mode`` is None, so plain help would show
    ``\\[default: …]``. Typer reads the flag at call time; it is restored at once,
    so any other Typer app in the process keeps its own help.
    """
    saved = typer.core.HAS_RICH
    typer.core.HAS_RICH = False
    try:
        yield
    finally:
        typer.core.HAS_RICH = saved


# The formats an output file's extension names when --format is not given (issue 18).
_EXTENSION_FORMATS = {".json": "json", ".csv": "csv", ".md": "md", ".pdf": "pdf"}


def _json_requested(args: list[str]) -> bool:
    """Whether the raw arguments of a command ask for ``--format json`` (read when they cannot be parsed)."""
    end = args.index("--") if "--" in args else len(args)
    words = args[:end]
    to_json_file = False
    for i, word in enumerate(words):
        value = words[i + 1] if i + 1 < len(words) else ""
        if word in ("--format", "-f"):
            return value == "json"
        if word.startswith(("--format=", "-f")) and word not in ("-f",):
            return word.split("=", 1)[-1].removeprefix("-f") == "json"
        if word in ("-o", "--output") and value.lower().endswith(".json"):
            to_json_file = True  # the format its extension names, unless --format says another
        if word.startswith("--output=") and word.lower().endswith(".json"):
            to_json_file = True
    return to_json_file


def _print_json_error(code: str, message: str, hint: str = "", src=None, diagnostics=()) -> None:
    from cpqctl.render.diagnostics import error_json

    sys.stdout.write(error_json(code, message, hint, src, diagnostics))
    sys.stdout.flush()


def format_of_output(fmt: str, output: Path | None) -> str:
    """``fmt``, or with ``-o FILE`` and no ``--format`` typed the format FILE's extension names, when the running
    command has that format."""
    from click.core import ParameterSource

    ctx = click.get_current_context(silent=True)
    if ctx is None or output is None or str(output) == "-":
        return fmt
    if ctx.get_parameter_source("format") not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        return fmt
    param = next((p for p in ctx.command.params if p.name == "format"), None)
    wanted = _EXTENSION_FORMATS.get(output.suffix.lower())
    if wanted is None or param is None or wanted not in getattr(param.type, "choices", ()):
        return fmt
    return wanted


@contextmanager
def stdout_to(target: Path):
    """Everything the command prints on stdout (text or bytes) goes to ``target`` instead, written atomically
    when the command ends (also with a non-zero exit of its own, as `check` finding errors); nothing on a
    refusal. A terminal is never assumed: tables are laid out as when piped."""
    import io

    from cpqctl.store import atomic_write_bytes

    raw = io.BytesIO()
    captured = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True)
    saved = sys.stdout
    sys.stdout = captured
    finished = False
    try:
        try:
            yield
            finished = True
        except click.exceptions.Exit:
            finished = True
            raise
        finally:
            sys.stdout = saved
            if finished:
                captured.flush()
                atomic_write_bytes(target, raw.getvalue())
                info(f"wrote {target}")
    finally:
        captured.detach()


def _global_setter(key: str):
    def set_global(ctx: click.Context, param: click.Parameter, value):
        if value is not None:
            setattr(STATE, key, str(value))
        return value

    return set_global


class CpqCommand(TyperCommand):
    """Every cpqctl command: plain ``--help`` text (:func:`_plain_help`), and for a command that prints data
    (one with ``--format``):

    - ``-o/--output FILE`` (unless the command has its own, as `render`): stdout goes to FILE, written
      atomically; the format follows the extension when ``--format`` is not given;
    - with ``--format json``, a refusal is also printed on stdout as ``{"error": {…}}`` (the text still
      goes to stderr, the exit code is the same).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        names = {p.name for p in self.params}
        opts = {o for p in self.params for o in getattr(p, "opts", ())}
        self.prints_data = "format" in names
        self.generic_output = self.prints_data and "output" not in names and not opts & {"-o", "--output"}
        # the global options work after every subcommand too (`cpqctl catalog list --as-of D`): a command that
        # has no --repo or --as-of of its own takes them here, as the root's callback would (hidden in its help)
        for decl, key, metavar in (("--repo", "repo", "PATH"), ("--as-of", "as_of", "DATE")):
            if decl not in opts:
                self.params.append(
                    typer.core.TyperOption(
                        param_decls=[decl, f"global_{key}"],
                        default=None,
                        metavar=metavar,
                        hidden=True,
                        expose_value=False,
                        callback=_global_setter(key),
                    )
                )
        if self.generic_output:
            self.params.append(
                typer.core.TyperOption(
                    param_decls=["-o", "--output", "output"],
                    type=click.Path(dir_okay=False, path_type=Path),
                    default=None,
                    metavar="FILE",
                    show_default=False,
                    help="Write the output to FILE instead of stdout (the format from its extension "
                    "when --format is not given: .json, .csv, .md); - for stdout.",
                )
            )

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _plain_help():
            super().format_help(ctx, formatter)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        raw = list(args)  # click consumes the list it parses
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            if self.prints_data and _json_requested(raw):
                _print_json_error("E-USAGE", e.format_message(), f"see `{ctx.command_path} --help`")
            raise

    def invoke(self, ctx: click.Context):
        target = ctx.params.pop("output", None) if self.generic_output else None
        try:
            if target is None or str(target) == "-":
                return super().invoke(ctx)
            ctx.params["format"] = format_of_output(ctx.params["format"], target)
            with stdout_to(target):
                return super().invoke(ctx)
        except CpqError as e:
            if self.prints_data and ctx.params.get("format") == "json":
                _print_json_error(e.code, e.message, e.hint, e.src, e.diagnostics)
            raise


class CpqGroup(TyperGroup):
    """The error boundary: a refused operation is a message and an exit code, never a traceback."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _plain_help():
            super().format_help(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its whole first sentence, wrapped under its name (click cuts it at the width: `…`)."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as e:  # `cpqctl quote lst --format json`: the JSON error too
            if _json_requested(args):
                _print_json_error("E-USAGE", e.format_message(), f"see `{ctx.command_path} --help`")
            raise

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CpqError as e:
            report_error(e)
            raise click.exceptions.Exit(exit_code(e)) from None
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("cpqctl: interrupted; no file was changed\n")
            raise click.exceptions.Exit(130) from None
        except BrokenPipeError:  # `cpqctl … | head`: the reader has gone; stop quietly, as the shell's tools do
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail again
            raise click.exceptions.Exit(141) from None  # 128 + SIGPIPE
        except Exception as e:  # a bug: say so briefly, keep the traceback for CPQ_DEBUG
            if os.environ.get("CPQ_DEBUG"):
                raise
            sys.stderr.write(
                f"cpqctl: internal error: {type(e).__name__}: {e}\n"
                "  = hint: this is a bug in cpqctl; rerun with CPQ_DEBUG=1 for details\n"
            )
            raise click.exceptions.Exit(1) from None


class CpqTyper(typer.Typer):
    """A Typer app whose commands are :class:`CpqCommand` unless told otherwise."""

    def command(self, name=None, *, cls=None, **kwargs):  # type: ignore[override]
        return super().command(name, cls=cls or CpqCommand, **kwargs)


def group(name: str, help: str) -> typer.Typer:
    return CpqTyper(
        name=name, help=help, cls=CpqGroup, no_args_is_help=True, add_completion=False, rich_markup_mode=None
    )
