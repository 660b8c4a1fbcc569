"""The docs cannot drift from the code (docs/, scripts/gen_docs.py, .pre-commit-hooks.yaml).

The reference pages are regenerated in-process and compared with the committed
files; diagnostics.md must list exactly the codes the code base uses; the
pre-commit hook's entry command must work on the example repository.
"""

from __future__ import annotations

import functools
import html
import importlib.util
import itertools
import os
import re
import shlex
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
DOCS = PROJECT / "docs"


def _gen():
    spec = importlib.util.spec_from_file_location("gen_docs", PROJECT / "scripts" / "gen_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gen = _gen()


def test_cli_reference_is_what_the_generator_writes_now() -> None:
    committed = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert committed == gen.cli_reference(), "docs/reference/cli.md is stale: run `python scripts/gen_docs.py`"


def test_cli_reference_covers_every_command_with_its_help() -> None:
    text = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    for path, _cmd, _ in gen.command_tree():
        name = " ".join(("cpqctl", *path))
        assert f"\n## {name}\n" in text, f"{name} is missing from cli.md"
    assert "Usage: cpqctl quote new [OPTIONS]" in text and "--as-of DATE" in text


def test_every_command_has_a_summary_and_an_example() -> None:
    assert gen.help_problems() == []


def test_help_problems_catches_a_command_without_example(monkeypatch) -> None:
    import click

    bare = click.Command("bare", help="Do a thing.", callback=lambda: None)
    monkeypatch.setattr(gen, "command_tree", lambda: [(("bare",), bare, click.Context(bare, info_name="bare"))])
    assert gen.help_problems() == ["`cpqctl bare` has no Example section in its --help"]


def test_cli_reference_does_not_depend_on_the_terminal(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    assert gen.cli_reference() == (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")


def test_formats_reference_is_what_the_schemas_give_now() -> None:
    committed = (DOCS / "reference" / "formats.md").read_text(encoding="utf-8")
    template = (DOCS / "_templates" / "formats.md").read_text(encoding="utf-8")
    assert committed == gen.formats_reference(template), "formats.md is stale: run `python scripts/gen_docs.py`"


def test_formats_reference_lists_every_field_of_every_kind() -> None:
    from cpqctl.load.schema import json_schema

    text = (DOCS / "reference" / "formats.md").read_text(encoding="utf-8")

    def paths(s: dict, prefix: str):
        for name, sub in s.get("properties", {}).items():
            yield prefix + name
            yield from paths(sub, prefix + name + ".")
            if sub.get("type") == "array":
                yield from paths(sub.get("items", {}), prefix + name + "[].")

    for kind in gen.KINDS:
        for p in paths(json_schema(kind), ""):
            assert f"| `{p}` |" in text, f"{kind}: field {p} missing from formats.md"
    assert "| `lines[].unit_price` | decimal | yes |" in text  # a nested, required field of the contract
    assert "| `products[].type` | `subscription` \\| `one-time` |  | `subscription` |" in text  # a default


def test_diagnostics_doc_lists_exactly_the_codes_in_the_code() -> None:
    in_code = set(gen.codes_in_code())
    documented = gen.codes_in_doc((DOCS / "reference" / "diagnostics.md").read_text(encoding="utf-8"))
    assert sorted(in_code - set(documented)) == [], "undocumented diagnostic codes"
    assert sorted(set(documented) - in_code) == [], "documented codes that no longer exist"
    assert len(documented) == len(set(documented)), "a code is documented twice"


def test_every_documented_code_has_an_example_and_a_fix() -> None:
    text = (DOCS / "reference" / "diagnostics.md").read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.MULTILINE)[1:]
    assert sections
    for s in sections:
        code = s.split("\n", 1)[0]
        assert "Fix:" in s, f"{code}: no fix"
        if code not in ("E-IMPORT-EMPTY", "E-CONTRACT-EXISTS"):  # a snippet says nothing an empty file would
            assert "```" in s, f"{code}: no example snippet"


def test_code_collection_finds_codes_in_source(tmp_path) -> None:
    (tmp_path / "cpqctl").mkdir()
    (tmp_path / "cpqctl" / "m.py").write_text('raise CpqError("E-NEW-THING", "x")\nd = "W-SOFT"\nx = "E-"\n')
    assert gen.codes_in_code(tmp_path) == {"E-NEW-THING": ["cpqctl/m.py"], "W-SOFT": ["cpqctl/m.py"]}


def test_gen_docs_check_passes_on_the_committed_docs(capsys) -> None:
    assert gen.main(["--check"]) == 0, capsys.readouterr().err


def test_gen_docs_check_fails_on_a_stale_file(monkeypatch, tmp_path, capsys) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(gen, "CLI_MD", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    monkeypatch.setattr(gen, "DIAGNOSTICS_MD", DOCS / "reference" / "diagnostics.md")
    monkeypatch.setattr(gen, "diagnostics_problems", lambda: [])
    monkeypatch.setattr(gen, "FORMATS_MD", tmp_path / "formats.md")
    (tmp_path / "formats.md").write_text(gen.formats_reference(gen.FORMATS_TEMPLATE.read_text("utf-8")), "utf-8")
    assert gen.main(["--check"]) == 1
    assert "cli.md is stale" in capsys.readouterr().err
    assert stale.read_text(encoding="utf-8") == "old\n"  # --check writes nothing


# --------------------------------------------------------------------------- pre-commit


def test_pre_commit_hook_is_well_formed() -> None:
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "cpqctl-check"]
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert hook["entry"] == "cpqctl check --format concise"
    files = re.compile(hook["files"])
    assert files.search("contracts/acme/C-2026-0001.yaml") and files.search("cpq.toml")
    assert files.search("catalog/x.yml") and not files.search("README.md")
    assert "id: cpqctl-check" in (DOCS / "pre-commit.md").read_text(encoding="utf-8")


def test_pre_commit_entry_runs_clean_on_the_example_repo(cli, example_repo) -> None:
    hook = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))[0]
    program, *args = shlex.split(hook["entry"])
    assert program == "cpqctl"
    run = cli(*args, cwd=example_repo)
    assert run.code == 0, run.stdout + run.stderr


def test_pre_commit_entry_fails_on_a_broken_file(cli, example_repo) -> None:
    (example_repo / "catalog" / "broken.yaml").write_text("products:\n  - {code: X, name: X, per: yearly}\n")
    hook = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))[0]
    run = cli(*shlex.split(hook["entry"])[1:], cwd=example_repo)
    assert run.code == 1 and "E-ENUM" in run.stdout + run.stderr


# --------------------------------------------------------------------------- links

# Folders whose Markdown nobody reads as documentation: test fixtures (tests/golden), templates
# (docs/_templates, cpqctl/templates), and what commands and builds leave in a checkout (.gitignore).
NOT_READ = {"tests", "templates", "out", "build", "dist", "cpq-tour", "node_modules", "__pycache__"}


def user_pages(root: Path = PROJECT) -> list[str]:
    """Every Markdown page a reader of the repository sees (README.md, bench/, docs/ …), relative to ``root``."""
    pages = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            d for d in subfolders if not d.startswith((".", "_")) and d not in NOT_READ and not d.endswith(".egg-info")
        )
        pages += [(Path(folder) / f).relative_to(root).as_posix() for f in files if f.endswith(".md")]
    return sorted(pages)


USER_PAGES = user_pages()
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([^\s`]*)")


def fenced_lines(text: str) -> list[tuple[str | None, str]]:
    """Each line with the language of the fenced block it is in: ``None`` outside a block, ``""`` in one without a
    language; the fence lines themselves count as in the block."""
    out: list[tuple[str | None, str]] = []
    fence: tuple[str, str] | None = None
    for line in text.split("\n"):
        if fence is None:
            m = FENCE.match(line)
            if m:
                fence = (m.group(1), m.group(2).lower())
            out.append((None if fence is None else fence[1], line))
            continue
        out.append((fence[1], line))
        if re.fullmatch(rf"\s*{re.escape(fence[0][0])}{{{len(fence[0])},}}\s*", line):
            fence = None
    return out


def prose(text: str) -> str:
    """The text outside fenced blocks, with the blocks' lines left empty (line numbers stay)."""
    return "\n".join(line if lang is None else "" for lang, line in fenced_lines(text))


CODE_SPAN = re.compile(r"(`+)(?!`)((?:(?!\n\s*\n).)+?)(?<!`)\1(?!`)", re.DOTALL)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text (no Markdown, no HTML) in lower case, spaces to dashes,
    punctuation other than ``-`` and ``_`` dropped."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


@functools.cache
def heading_anchors(text: str) -> frozenset[str]:
    """The anchors of a page's headings (ATX and setext; a repeated heading gets ``-1``, ``-2`` …) and its
    ``<a name>`` / ``id`` anchors."""
    headings = []
    lines = prose(text).split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$", line)
        if m:
            headings.append(m.group(1) or "")
        elif (
            i
            and re.fullmatch(r" {0,3}(=+|-+)\s*", line)
            and lines[i - 1].strip()
            and not lines[i - 1].startswith((" " * 4, "#", "|"))
        ):
            headings.append(lines[i - 1].strip())
    seen: dict[str, int] = {}
    anchors = set(re.findall(r"""<a\s[^>]*?(?:name|id)=["']([^"']+)["']""", text))
    for h in headings:
        slug = github_slug(h)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return frozenset(anchors)


def links(text: str) -> list[tuple[int, str]]:
    """(line, target) of every link and image of a page: ``[text](target)``, ``[label]: target`` and HTML
    ``href``/``src``; none inside code."""
    body = CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), prose(text))
    found = [(m.start(1), m.group(1)) for m in re.finditer(r"\]\(\s*<?([^)\s>]*)", body)]
    found += [(m.start(1), m.group(1)) for m in re.finditer(r"^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)", body, re.MULTILINE)]
    found += [(m.start(1), m.group(1)) for m in re.finditer(r"""\b(?:href|src)=["']([^"']*)["']""", body)]
    return sorted((body.count("\n", 0, at) + 1, target) for at, target in found)


def link_problems(page: Path, root: Path = PROJECT) -> list[str]:
    """Relative links of ``page`` whose file (or folder) does not exist in ``root``, or whose ``#anchor`` is no
    heading of the Markdown page it names."""
    text = page.read_text(encoding="utf-8")
    where = page.relative_to(root).as_posix()
    problems = []
    for line, target in links(text):
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", target):  # https:, mailto: …
            continue
        path, _, anchor = target.partition("#")
        path = unquote(path.split("?")[0])
        dest = (root / path.lstrip("/") if path.startswith("/") else page.parent / path) if path else page
        dest = dest.resolve()
        if not dest.is_relative_to(root.resolve()):
            problems.append(f"{where}:{line}: link to {target} leaves the repository")
        elif not dest.exists():
            problems.append(f"{where}:{line}: broken link to {target}")
        elif anchor:
            md = dest / "README.md" if dest.is_dir() else dest
            if md.suffix == ".md" and md.is_file() and unquote(anchor) not in heading_anchors(md.read_text("utf-8")):
                problems.append(f"{where}:{line}: {target}: no heading #{anchor} in {md.relative_to(root).as_posix()}")
    return problems


@pytest.mark.parametrize("page", USER_PAGES)
def test_relative_links_point_at_existing_files(page) -> None:
    """Issue 18: every relative link of every page a reader sees resolves, ``#anchors`` included."""
    assert link_problems(PROJECT / page) == []


def test_every_page_a_reader_sees_is_link_checked() -> None:
    """README.md, bench/ and docs/ (its generated reference too), not the golden files and templates."""
    assert {"README.md", "bench/README.md", "docs/README.md", "docs/ci/README.md", "docs/reference/cli.md"} <= set(
        USER_PAGES
    )
    assert not [p for p in USER_PAGES if p.startswith(("tests/", "docs/_templates/"))]


def test_heading_anchors_follow_githubs_slugs() -> None:
    text = (
        "# cpqctl quote new\n\n## Contract: contracts/&lt;account&gt;/&lt;contract&gt;.yaml\n\n"
        "## Bulk renewal quotes — for next quarter\n\n## `--as-of` and `CPQ_AS_OF`\n\n## Faktura VAT: zażółć\n\n"
        "## Notes\n\n## Notes\n\nSetext heading\n---\n\n```sh\n# not a heading\n```\n"
    )
    assert heading_anchors(text) == {
        "cpqctl-quote-new",
        "contract-contractsaccountcontractyaml",
        "bulk-renewal-quotes--for-next-quarter",
        "--as-of-and-cpq_as_of",
        "faktura-vat-zażółć",
        "notes",
        "notes-1",
        "setext-heading",
    }


def test_link_check_reports_a_missing_file_and_a_missing_anchor(tmp_path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Its part\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/a.md#its-part) [self](#top) [web](https://example.com/x.md) ![img](docs/)\n"
        "[gone](docs/b.md) [anchor](docs/a.md#no-such-part)\n"
        "[out](../elsewhere.md) `[code](docs/c.md)`\n\n"
        "# Top\n\n```md\n[in a block](docs/d.md)\n```\n[ref]: docs/e.md\n",
        encoding="utf-8",
    )
    assert link_problems(page, tmp_path) == [
        "README.md:2: docs/a.md#no-such-part: no heading #no-such-part in docs/a.md",
        "README.md:2: broken link to docs/b.md",
        "README.md:3: link to ../elsewhere.md leaves the repository",
        "README.md:10: broken link to docs/e.md",
    ]


def test_the_index_links_every_page() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for p in DOCS.rglob("*.md"):
        rel = p.relative_to(DOCS).as_posix()
        if rel != "README.md" and not rel.startswith("_"):
            assert f"({rel})" in index, f"docs/README.md does not link {rel}"


def test_no_page_installs_cpqctl_from_a_package_index() -> None:
    """cpqctl is published on no package index: a page installs it from a checkout or from git (issue 18: the
    cookbook's CI job said `pip install cpqctl`)."""
    from_index = re.compile(r"\b(?:pip3?|pipx|uv pip|uv tool) install\s+(?:-\S+\s+)*[\"']?cpqctl\b(?!\s*@)")
    found = [
        f"{page}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for page in USER_PAGES
        for text in [(PROJECT / page).read_text(encoding="utf-8")]
        for m in from_index.finditer(text)
    ]
    assert found == []
    assert from_index.search("- run: pip install -U cpqctl  # x") and not from_index.search(
        'pip install "cpqctl @ git+U"'
    )


def test_contributing_regenerates_every_golden_file() -> None:
    """The command in docs/CONTRIBUTING.md names every test that rewrites golden files (issue 18: it missed the
    languages' and the lawful invoices')."""
    text = (DOCS / "CONTRIBUTING.md").read_text(encoding="utf-8")
    (command,) = re.findall(r"`CPQ_UPDATE_GOLDEN=1 pytest ([^`]+)`", text)
    writers = {
        p.relative_to(PROJECT).as_posix()
        for p in (PROJECT / "tests").glob("test_*.py")
        if "CPQ_UPDATE_GOLDEN" in p.read_text(encoding="utf-8") and p.name != "test_docs.py"
    }
    assert writers and sorted(writers - set(command.split())) == []


# --------------------------------------------------------------------------- commands shown in the docs

SHELL_BLOCKS = {"sh", "bash", "console", "shell", "shell-session", "zsh"}
PLAIN_BLOCKS = {"", "text"}  # usage lines and output: a line that starts with `cpqctl ` or `$ cpqctl `
YAML_RUN = re.compile(r"^\s*(?:-\s+)?(?:(?:run|entry|script):\s+)?(?:-\s+)?(?=cpqctl\s)")
SEPARATORS = {"|", "||", "&&", ";", "&", "(", ")"}
WRAPPERS = {"env", "time", "exec", "command", "nohup", "xargs"}


def _strip_comment(line: str) -> str:
    """The line up to a shell comment (a ``#`` that starts a word outside quotes)."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _tokens(line: str, synopsis: bool) -> list[str]:
    """A shell line's words and operators (``|``, ``&&``, ``>`` …), or a synopsis's words (``a | --b``: either;
    ``&&``, ``;`` still end a command); ``[--opt X]`` brackets and ``FILE...`` ellipses dropped in both."""
    line = _strip_comment(line).replace("<TAB>", "")
    try:
        if synopsis:
            words = shlex.split(line)
        else:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split, lexer.commenters = True, ""
            words = list(lexer)
    except ValueError:  # an unbalanced quote: not a command line
        return []
    out: list[str] = []
    for i, w in enumerate(words):
        if synopsis and w == "|" and words[i + 1 : i + 2] and words[i + 1].lstrip("[").startswith("-"):
            continue  # `renew C | --due`: either
        end = w.endswith(";") and w != ";"
        w = w.rstrip(";")
        while w not in ("…", "...") and w != (bare := w.strip("[]").removesuffix("…").removesuffix("...")):
            w = bare  # `[--status S]…`, `FILE...`; a lone `…` stands for a value
        out += [w] if w else []
        out += [";"] if end else []
    return out


def _runs(line: str, synopsis: bool = False) -> list[list[str]]:
    """The words after ``cpqctl`` of each run of it in a line (pipes, ``&&``, ``$(…)``, redirections,
    ``VAR=value`` and ``env`` in front, ``python -m cpqctl`` understood)."""
    words = _tokens(line, synopsis)
    runs: list[list[str]] = []
    run: list[str] | None = None
    start = True  # where a command starts: assignments and wrappers may come first
    i = 0
    while i < len(words):
        w = words[i]
        if w in SEPARATORS:
            run, start = None, True
        elif re.fullmatch(r"&?[<>]+[&|]?", w):  # a redirection and what it names (`2>&1`: 2, >&, 1)
            if run and run[-1] in ("1", "2"):
                run.pop()
            i += 1
        elif start and (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", w) or w in WRAPPERS):
            pass
        elif start and (w == "cpqctl" or (w.startswith("python") and words[i + 1 : i + 3] == ["-m", "cpqctl"])):
            run, start = [], False
            runs.append(run)
            i += 0 if w == "cpqctl" else 2
        elif run is not None:
            run.append(w)
        else:
            start = False
        i += 1
    return runs


def doc_commands(text: str) -> list[tuple[int, list[str], bool]]:
    """(line, words after ``cpqctl``, strict) of every ``cpqctl …`` a page shows: in ```sh / ```bash / ```console
    blocks (``\\`` continuations, ``$`` prompts, comments, heredocs), CI steps in ```yaml blocks, usage lines in
    plain blocks, and inline code spans that start with ``cpqctl ``. A plain block's line is not strict: it may be
    output or prose that starts with "cpqctl" (when the next word is no command, it is not a command line)."""
    found: list[tuple[int, list[str], bool]] = []
    pending: list[str] = []  # the lines continued with `\`
    heredoc: str | None = None
    for n, (lang, line) in enumerate(fenced_lines(text), 1):
        if lang is None or (FENCE.match(line) and not pending):
            pending, heredoc = [], None
            continue
        if heredoc is not None:
            heredoc = None if line.strip() == heredoc else heredoc
            continue
        stripped, synopsis, strict = line.strip(), False, True
        if pending:
            stripped = re.sub(r"^> ", "", stripped)
        elif lang in SHELL_BLOCKS:
            if lang in ("console", "shell-session") and not stripped.startswith("$ "):
                continue  # output
            stripped = re.sub(r"^\$ ", "", stripped)
        elif lang in ("yaml", "yml") and YAML_RUN.match(line):
            stripped = YAML_RUN.sub("", line).strip()
        elif lang in PLAIN_BLOCKS and re.match(r"(\$ )?cpqctl\s", stripped):
            stripped, synopsis, strict = re.sub(r"^\$ ", "", stripped), True, False
        else:
            continue
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        logical, first, pending = " ".join([*pending, stripped]), n - len(pending), []
        m = re.search(r"<<-?\s*['\"]?(\w+)", logical)
        heredoc = m.group(1) if m else None
        found += [(first, words, strict) for words in _runs(logical, synopsis)]
    body, root = prose(text), _root()
    for m in CODE_SPAN.finditer(body):
        span = " ".join(m.group(2).split())
        first, _, rest = span.partition(" ")
        group = getattr(root.commands.get(first), "commands", None)
        if first in root.commands and (rest.startswith("-") or (group and re.match(r"[a-z][a-z-]*( |$)", rest))):
            span = f"cpqctl {span}"  # `invoice run --dry-run`, `quote accept`: a command without its program
        if span.startswith("cpqctl "):
            found += [(body.count("\n", 0, m.start()) + 1, words, True) for words in _runs(span, synopsis=True)]
    return sorted(found)


@functools.cache
def _root():
    """The click command tree of ``cpqctl``."""
    import typer.main

    from cpqctl.cli.main import app

    return typer.main.get_command(app)


@functools.cache
def _root_hands_on_format() -> bool:
    """Whether ``cpqctl --format json check`` parses: the root passes a ``--format`` written before the command
    on to the command."""
    import click

    try:
        _root().make_context("cpqctl", ["--format", "json", "check"])
    except click.UsageError:
        return False
    return True


def _options(cmd) -> dict:
    """A command's options by each of their names, ``-h``/``--help`` included."""
    import click

    out = {name: p for p in cmd.params if isinstance(p, click.Option) for name in (*p.opts, *p.secondary_opts)}
    return {"-h": click.Option(["-h", "--help"], is_flag=True), "--help": click.Option(["--help"], is_flag=True), **out}


def command_problems(words: list[str], *, strict: bool = True) -> list[str]:
    """What does not resolve in ``cpqctl WORDS``: a command that does not exist, an option the command does not
    take (the global flags are taken everywhere; ``--format`` before the command is the command's), a value
    outside an option's choices, more arguments than the command takes. Argument and option values are not
    checked otherwise; a placeholder where a command goes (``COMMAND``, ``<command>``, ``$CMD``) ends the check.
    ``a|b`` checks each alternative. Not ``strict``: an unknown first word means the line is no command."""
    import click

    from cpqctl.cli.main import GLOBAL_FLAGS

    choices = [w.split("|") if "|" in w.strip("|") else [w] for w in words]
    if any(len(c) > 1 for c in choices):
        problems: list[str] = []
        for combo in itertools.product(*choices):
            problems += [p for p in command_problems(list(combo), strict=strict) if p not in problems]
        return problems

    cmd, path, i = _root(), ["cpqctl"], 0
    moved: list[str] = []  # `cpqctl --format json quote show Q`: the root hands --format to the command
    while isinstance(cmd, click.Group) and i < len(words):
        w = words[i]
        name = w.split("=")[0]
        if w.startswith("-") and w not in ("-", "--"):
            option = _options(cmd).get(name)
            if len(path) == 1 and name in ("-f", "--format") and _root_hands_on_format():
                option = click.Option(["--format"])  # takes a value
                moved += words[i : i + (1 if "=" in w else 2)]
            elif option is None and name not in GLOBAL_FLAGS:
                return [f"`{' '.join(path)}` has no option {name}"]
            i += 1 if option is None or option.is_flag or "=" in w else 2
        elif not re.fullmatch(r"[a-z][a-z0-9-]*", w):
            return []  # a placeholder: nothing to resolve
        elif w not in cmd.commands:
            return [f"no command `{' '.join([*path, w])}`"] if strict or len(path) > 1 else []
        else:
            cmd, path, i = cmd.commands[w], [*path, w], i + 1
    command = " ".join(path)
    if isinstance(cmd, click.Group):
        return [f"`{command}` has no option {moved[0]}"] if moved else []
    opts = _options(cmd)
    takes = [p.nargs for p in cmd.params if isinstance(p, click.Argument)]
    most = float("inf") if -1 in takes else sum(takes)
    problems, given, rest, j = [], 0, [*words[i:], *moved], 0
    unknown = False  # an option the command does not take: whether a value follows it is not known
    while j < len(rest):
        w, j = rest[j], j + 1
        if w == "--":
            given += len(rest) - j
            break
        if not w.startswith("-") or w == "-" or re.fullmatch(r"-[\d.]+%?", w):
            given += w not in ("…", "...")  # `amend C …`: and more
            continue
        name, eq, value = w.partition("=")
        if not name.startswith("--") and len(name) > 2:
            name, eq, value = name[:2], "=", name[2:]  # -fjson
        option = opts.get(name)
        if option is None:
            unknown = unknown or name not in GLOBAL_FLAGS
            problems += [] if name in GLOBAL_FLAGS else [f"`{command}` has no option {name}"]
            continue
        if option.is_flag or option.count:
            continue
        if not eq:
            value, j = (rest[j] if j < len(rest) else ""), j + 1
        allowed = getattr(option.type, "choices", None)
        if allowed and re.fullmatch(r"[a-z0-9][a-z0-9-]*", value) and value not in allowed:
            problems.append(f"`{command} {name}` takes {'|'.join(allowed)}, not {value}")
    if given > most and not unknown:
        problems.append(f"`{command}` takes {most} argument(s), the docs give {given}")
    return problems


COMMAND_PAGES = [p for p in USER_PAGES if "cpqctl" in (PROJECT / p).read_text(encoding="utf-8")]


@pytest.mark.parametrize("page", COMMAND_PAGES)
def test_every_cpqctl_command_in_the_docs_resolves(page) -> None:
    """Issue 18: the commands and options the docs show exist (the command tree, not the argument values)."""
    problems = []
    for line, words, strict in doc_commands((PROJECT / page).read_text(encoding="utf-8")):
        problems += [f"{page}:{line}: {p}: cpqctl {shlex.join(words)}" for p in command_problems(words, strict=strict)]
    assert problems == []


def test_the_docs_show_commands_to_check() -> None:
    shown = {
        page: [" ".join(words) for _, words, _ in doc_commands((PROJECT / page).read_text(encoding="utf-8"))]
        for page in COMMAND_PAGES
    }
    assert sum(map(len, shown.values())) > 300
    # a `\`-continued line of a ```sh block; a CI step of a ```yaml block; a code span in the text
    assert (
        "quote new --account acme --start 2027-01-01 --term 12 --line PRO-SEAT=50 --line SSO=1@10% --line ONBOARDING=1"
        in shown["README.md"]
    )
    assert "renewals --format md" in shown["docs/cookbook.md"]
    assert "amend C --effective D --set|--add|--remove|--reprice|--extend-to|--cancel" in shown["README.md"]


def test_commands_are_read_from_shell_blocks_yaml_steps_and_code_spans() -> None:
    page = (
        "Run `cpqctl quote show Q-2026-0001 --format json`, or `cpqctl quote|contract list`; `ls -l` is no cpqctl,\n"
        "`renew --due` and `invoice run` are, `export CPQ_AS_OF=2027-01-01` and `check` (a word) are not.\n"
        "\n"
        "```sh\n"
        "$ cpqctl quote new --account acme \\\n"
        "    --line PRO-SEAT=5   # a comment --bogus\n"
        "X=$(cpqctl quote list --format json | jq -r .) && CPQ_AS_OF=2027-01-01 cpqctl check 2>&1 > out.txt\n"
        "cat <<EOF > notes.md\n"
        "cpqctl not a command\n"
        "EOF\n"
        "```\n"
        "\n"
        "```console\n"
        "$ cpqctl diff HEAD\n"
        "cpqctl prints this output line\n"
        "```\n"
        "\n"
        "```\n"
        "cpqctl reads cpq.toml first\n"
        "cpqctl fx import FILE... [--currency EUR,USD]\n"
        "```\n"
        "\n"
        "```yaml\n"
        "name: cpqctl check\n"
        '      - run: cpqctl renewals --format md >> "$GITHUB_STEP_SUMMARY"\n'
        "```\n"
    )
    assert doc_commands(page) == [
        (1, ["quote", "show", "Q-2026-0001", "--format", "json"], True),
        (1, ["quote|contract", "list"], True),
        (2, ["invoice", "run"], True),
        (2, ["renew", "--due"], True),
        (5, ["quote", "new", "--account", "acme", "--line", "PRO-SEAT=5"], True),
        (7, ["check"], True),
        (7, ["quote", "list", "--format", "json"], True),
        (14, ["diff", "HEAD"], True),
        (19, ["reads", "cpq.toml", "first"], False),
        (20, ["fx", "import", "FILE", "--currency", "EUR,USD"], False),
        (25, ["renewals", "--format", "md"], True),
    ]


def test_command_check_reports_what_does_not_resolve() -> None:
    def check(line: str, strict: bool = True) -> list[str]:
        return command_problems(shlex.split(line)[1:], strict=strict)

    assert check("cpqctl quote show Q-2026-0001 --format json -q") == []
    assert check("cpqctl --repo . --no-color --format json quote list --status draft -s needs-approval") == []
    assert check("cpqctl COMMAND --help") == check("cpqctl reads cpq.toml", strict=False) == []
    assert check("cpqctl frobnicate") == ["no command `cpqctl frobnicate`"]
    assert check("cpqctl quote frobnicate Q", strict=False) == ["no command `cpqctl quote frobnicate`"]
    assert check("cpqctl quote list --bogus --as-of 2027-01-01") == ["`cpqctl quote list` has no option --bogus"]
    assert check("cpqctl --bogus check") == ["`cpqctl` has no option --bogus"]
    assert check("cpqctl check --format xml") == ["`cpqctl check --format` takes full|concise|json|github, not xml"]
    assert check("cpqctl quote show Q-1 Q-2") == ["`cpqctl quote show` takes 1 argument(s), the docs give 2"]
    assert check("cpqctl quote|contract|nope list") == ["no command `cpqctl nope`"]
    assert check("cpqctl amend C --cancel|--bogus") == ["`cpqctl amend` has no option --bogus"]
    assert check("cpqctl quote accept Q --signed Anna") == ["`cpqctl quote accept` has no option --signed"]
    if _root_hands_on_format():
        assert check("cpqctl --format json quote show Q") == []
        assert check("cpqctl --format json tour") == ["`cpqctl tour` has no option --format"]
    else:
        assert check("cpqctl --format json quote show Q") == ["`cpqctl` has no option --format"]
