"""`cpqctl check`: every problem of a deliberately broken repository, with its exact position.

One repository holds all the problems at once (SPEC §1 "Values in YAML files",
§6 exit codes and the `check` JSON shape, §8 "bad input never crashes"): the
loader and the cross-file checks must report each of them, not stop at the
first, and never let one hide another. Expected positions are derived from
the inline file texts (the line holding a marker, the column of the offending
token), 1-based, at the offending key or value.
"""

from __future__ import annotations

import json
import re
import textwrap

import pytest
import yaml

from cpqctl.formats.digest import digest_of

ACCEPTED_QUOTE = """\
quote: Q-2026-0002
status: accepted
account: acme
date: 2026-01-10
currency: EUR
start: 2026-02-01
term: 12
signed: {by: Anna Nowak, date: 2026-01-15}
lines:
  - {product: SEAT, quantity: 5, list_price: 280.00, unit_price: 280.00, per: year, start: 2026-02-01, end: 2027-01-31, net_total: 1400.00}
net_total: 1400.00
"""


def accepted_then_edited() -> str:
    """An accepted quote with the right digest, then edited (5 seats became 50) without re-accepting."""
    text = ACCEPTED_QUOTE + f'digest: "{digest_of(ACCEPTED_QUOTE)}"\n'
    assert digest_of(text) == digest_of(ACCEPTED_QUOTE)  # the digest line itself is not hashed
    return text.replace("quantity: 5,", "quantity: 50,")


BROKEN = {
    "catalog/products.yaml": """
        products:
          - code: SEAT
            name: Seat
            family: License
            type: subscription
            per: year
            price: {PLN: 1200.00}
            discount_schedule: VOL
          - code: ADDON
            name: Add-on
            type: subscription
            per: month
            price:
              PLN: 12,50
            descripton: typo of description
          - code: GREEN
            name: Green plan
            type: subscription
            per: month
            price: {PLN: 10.00}
            evergreen: yes
        discount_schedules:
          - code: VOL
            type: range
            tiers:
              - {from: 1, discount: 0%}
              - {from: 11, discount: 10}
        """,
    "contracts/acme/account.yaml": """
        account: acme
        name: ACME
        currency: EUR
        name: ACME again
        """,
    "contracts/acme/C-2026-0001.yaml": """
        contract: C-2026-0001
        account: acme
        currency: EUR
        start: 2026-01-01
        end: 2026-12-31
        lines:
          - {product: NOPE, quantity: 1, unit_price: 10.00, per: year, start: 2026-01-01, end: 2026-12-31}
          - {product: SEAT, quantity: 2, unit_price: 280.00, per: year, start: 2026-01-01, end: 2027-03-31}
        amendments:
          - amendment: A-1
            effective: 2027-05-01
            lines: []
        """,
    "contracts/acme/C-2026-0002.yaml": """
        contract: C-2026-0002
        account: acme
        currency: EUR
        start: 2026-12-31
        end: 2026-01-01
        lines: []
        """,
    "contracts/acme/C-2026-0004.yaml": """
        contract: C-2026-0044
        account: acme
        currency: EUR
        start: 2026-01-01
        end: 2026-12-31
        lines: []
        """,
    "quotes/Q-2026-0001.yaml": """
        quote: Q-2026-0001
        account: acme
        date: 2026-01-05
        start: 2026-02-01
        lines:
          - {product: SEAT, quantity: 5}
        """,
    "quotes/Q-2026-0002.yaml": accepted_then_edited(),
    "quotes/Q-2026-0003.yaml": """
        quote: Q-2026-0003
        account: ../evil
        date: 2026-01-05
        lines: []
        """,
    "quotes/Q-2026-0004.yaml": """
        quote: Q-2026-0004
        account: acme
          date: 2026-01-05
        lines: []
        """,
    "quotes/bad name.yaml": "quote: whatever\n",
    "quotes/Q-2026-0009.yml": "quote: Q-2026-0009\n",
}


def text_of(rel: str) -> str:
    return textwrap.dedent(BROKEN[rel]).lstrip("\n")


def at(rel: str, marker: str, token: str | None = None) -> tuple[int, int]:
    """(line, column) of ``token`` on the first line of ``rel`` that contains ``marker``."""
    for n, line in enumerate(text_of(rel).splitlines(), 1):
        if marker in line:
            return n, line.index(token or marker) + 1
    raise AssertionError(f"{marker!r} not in {rel}")


def parser_position(rel: str) -> tuple[int, int]:
    """Where PyYAML's pure-Python parser (an independent oracle for libyaml's) stops."""
    try:
        yaml.compose(text_of(rel), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        return exc.problem_mark.line + 1, exc.problem_mark.column + 1
    raise AssertionError(f"{rel} parses")


CAT, ACCT, C1 = "catalog/products.yaml", "contracts/acme/account.yaml", "contracts/acme/C-2026-0001.yaml"
EXPECTED = {
    # (code, file, (line, column))
    ("E-NUMBER", CAT, at(CAT, "PLN: 12,50", "12,50")),  # bad money
    ("E-UNKNOWN-KEY", CAT, at(CAT, "descripton")),  # with a did-you-mean hint
    ("E-YAML11-BOOL", CAT, at(CAT, "evergreen: yes", "yes")),
    ("E-PERCENT", CAT, at(CAT, "{from: 11", "10}")),  # a percentage without %
    ("E-DUPLICATE-KEY", ACCT, at(ACCT, "name: ACME again", "name")),  # at the second occurrence
    ("E-UNKNOWN-PRODUCT", C1, at(C1, "NOPE")),
    ("E-SEGMENT-TERM", C1, at(C1, "2027-03-31")),  # a segment outside its contract's term
    ("E-AMENDMENT-TERM", C1, at(C1, "effective:", "2027-05-01")),
    ("E-DATES", "contracts/acme/C-2026-0002.yaml", at("contracts/acme/C-2026-0002.yaml", "end:", "2026-01-01")),
    (
        "E-ID-MISMATCH",
        "contracts/acme/C-2026-0004.yaml",
        at("contracts/acme/C-2026-0004.yaml", "contract:", "C-2026-0044"),
    ),
    ("E-NO-PRICE", "quotes/Q-2026-0001.yaml", at("quotes/Q-2026-0001.yaml", "SEAT")),  # SEAT has no EUR price
    ("E-DIGEST", "quotes/Q-2026-0002.yaml", at("quotes/Q-2026-0002.yaml", "digest:", '"sha256:')),
    ("E-ID", "quotes/Q-2026-0003.yaml", at("quotes/Q-2026-0003.yaml", "../evil")),
    ("E-YAML", "quotes/Q-2026-0004.yaml", parser_position("quotes/Q-2026-0004.yaml")),
    ("E-ID", "quotes/bad name.yaml", (1, 1)),  # a file name that is not an ID
    ("E-FILE-NAME", "quotes/Q-2026-0009.yml", (1, 1)),
}
# A consequence the checks may add: ADDON's refused price leaves it without one.
TOLERATED = {("E-PRODUCT-PRICE", CAT, at(CAT, "code: ADDON", "code"))}


@pytest.fixture
def broken(repo):
    return repo(BROKEN)


def diagnostics(run) -> list[dict]:
    return json.loads(run.stdout)["diagnostics"]


def test_json_lists_every_problem_with_code_file_line_column(broken, cli) -> None:
    run = cli("check", "--format", "json", "--repo", broken)
    assert run.code == 1, run.stderr
    diags = diagnostics(run)
    found = {(d["code"], d["file"], (d["line"], d["column"])) for d in diags}
    missing = EXPECTED - found
    assert not missing, f"not reported: {sorted(missing)}"
    extra = found - EXPECTED - TOLERATED
    assert not extra, f"unexpected: {sorted(extra)}"
    assert all(d["severity"] == "error" and d["message"] and d["hint"] for d in diags)
    assert set(diags[0]) == {"code", "severity", "message", "file", "line", "column", "hint"}
    hint = next(d["hint"] for d in diags if d["code"] == "E-UNKNOWN-KEY")
    assert "did you mean `description`" in hint
    assert f"{len(diags)} error(s), 0 warning(s)" in run.stderr
    assert diags == sorted(diags, key=lambda d: (d["file"], d["line"], d["column"]))  # stable order


def test_full_format_shows_excerpt_and_caret_under_the_token(broken, cli) -> None:
    run = cli("check", "--repo", broken)
    assert run.code == 1
    out = run.stdout.splitlines()
    line, col = at(CAT, "PLN: 12,50", "12,50")
    head = out.index(next(s for s in out if s.startswith(f"{CAT}:{line}:{col}: error[E-NUMBER]:")))
    bar, source, caret = out[head + 1 : head + 4]
    assert bar.strip() == "|"
    assert source.startswith(f"{line} | ") and source.endswith("PLN: 12,50")
    assert caret.index("^") == source.index("12,50")
    assert out[head + 4].startswith("  = hint: write an exact decimal")
    # every finding has its header line
    headers = [s for s in out if re.match(r"^\S.*:\d+:\d+: error\[E-[A-Z0-9-]+\]: ", s)]
    assert len(headers) == len(_found(broken, cli))


def _found(root, cli) -> set:
    return {
        (d["code"], d["file"], (d["line"], d["column"]))
        for d in diagnostics(cli("check", "-f", "json", "--repo", root))
    }


def test_concise_format_is_one_line_per_finding(broken, cli) -> None:
    found = _found(broken, cli)
    run = cli("check", "--format", "concise", "--repo", broken)
    assert run.code == 1
    lines = run.stdout.splitlines()
    assert len(lines) == len(found)
    parsed = set()
    for s in lines:
        m = re.fullmatch(r"(.+):(\d+):(\d+): error\[([A-Z0-9-]+)\]: .+", s)
        assert m, s
        parsed.add((m[4], m[1], (int(m[2]), int(m[3]))))
    assert parsed == found


def test_github_format_annotates_each_finding(broken, cli) -> None:
    found = _found(broken, cli)
    run = cli("check", "--format", "github", "--repo", broken)
    assert run.code == 1
    lines = run.stdout.splitlines()
    assert len(lines) == len(found)
    parsed = set()
    for s in lines:
        m = re.fullmatch(r"::error file=([^,]+),line=(\d+),col=(\d+),title=([A-Z0-9-]+)::.+", s)
        assert m, s
        parsed.add((m[4], m[1], (int(m[2]), int(m[3]))))
    assert parsed == found
    assert f"::error file={CAT},line={at(CAT, 'descripton')[0]},col=5,title=E-UNKNOWN-KEY::" in run.stdout


def test_github_format_escapes_properties_and_message() -> None:
    from cpqctl.core.diagnostics import Diagnostic
    from cpqctl.render.diagnostics import github

    out = github([Diagnostic("a,b:c.yaml", 2, 3, "E-X", "50% off\nnext", "h")])
    assert out == "::error file=a%2Cb%3Ac.yaml,line=2,col=3,title=E-X::50%25 off%0Anext (hint: h)\n"


# ----------------------------------------------------------------------------- clean, warnings, exit 2

CLEAN = {
    "catalog/products.yaml": """
        products:
          - {code: SEAT, name: Seat, type: subscription, per: year, price: {PLN: 1200.00}}
        """,
    "contracts/acme/account.yaml": "account: acme\nname: ACME\ncurrency: PLN\n",
    "contracts/acme/C-2026-0001.yaml": """
        contract: C-2026-0001
        account: acme
        currency: PLN
        start: 2026-01-01
        end: 2026-12-31
        lines:
          - {product: SEAT, quantity: 3, unit_price: 1200.00, per: year, start: 2026-01-01, end: 2026-12-31}
        """,
}


@pytest.mark.parametrize("fmt", ["full", "concise", "github"])
def test_clean_repo_prints_nothing_and_exits_0(repo, cli, fmt) -> None:
    run = cli("check", "--format", fmt, "--repo", repo(CLEAN))
    assert (run.code, run.stdout, run.stderr) == (0, "", "")


def test_clean_repo_json_is_an_empty_list(repo, cli) -> None:
    run = cli("check", "--format", "json", "--repo", repo(CLEAN))
    assert run.code == 0
    assert json.loads(run.stdout) == {"diagnostics": []}


def test_example_repo_is_clean(example_repo, cli) -> None:
    run = cli("check", "--repo", example_repo)
    assert (run.code, run.stdout, run.stderr) == (0, "", "")


def test_run_checks_on_the_example_finds_nothing(example_repo) -> None:
    from cpqctl.core.checks import run_checks, unloaded
    from cpqctl.load.repo import load_repo

    loaded, diags = load_repo(example_repo)
    assert diags == [] and run_checks(loaded) == [] and run_checks(loaded, unloaded(loaded, diags)) == []


def test_warnings_alone_exit_0_but_are_printed(repo, cli) -> None:
    files = dict(CLEAN)
    files["contracts/acme/C-2026-0001.yaml"] = (
        CLEAN["contracts/acme/C-2026-0001.yaml"].rstrip() + "\n        quote: Q-404\n"
    )
    root = repo(files)
    run = cli("check", "--format", "json", "--repo", root)
    assert run.code == 0
    [d] = diagnostics(run)
    assert (d["code"], d["severity"], d["file"]) == ("W-UNKNOWN-QUOTE", "warning", "contracts/acme/C-2026-0001.yaml")
    assert "0 error(s), 1 warning(s)" in run.stderr
    full = cli("check", "--repo", root)
    assert full.code == 0 and "warning[W-UNKNOWN-QUOTE]" in full.stdout


def test_no_repository_exits_2_with_a_hint(tmp_path, cli) -> None:
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    run = cli("check", cwd=empty)
    assert run.code == 2
    assert run.stdout == ""
    assert "E-NO-REPO" in run.stderr and "cpqctl init" in run.stderr and "hint" in run.stderr
    run = cli("check", "--repo", empty)
    assert run.code == 2 and "cpqctl init" in run.stderr


def test_repo_is_found_upwards_from_the_working_directory(repo, cli) -> None:
    root = repo(CLEAN)
    run = cli("check", "--format", "json", cwd=root / "contracts" / "acme")
    assert run.code == 0 and json.loads(run.stdout) == {"diagnostics": []}


def test_invalid_toml_exits_2(repo, cli) -> None:
    root = repo(CLEAN, toml='[company\nname = "x"\n')
    run = cli("check", "--repo", root)
    assert run.code == 2
    assert "E-SETTINGS" in run.stderr and "not valid TOML" in run.stderr
    assert "Traceback" not in run.stderr


def test_bad_setting_is_a_finding_with_its_position(repo, cli) -> None:
    toml = '[company]\ncurrency = "PLN"\n\n[pricing]\nrounding = "half-down"\n\n[tax]\nrate = "23"\n'
    run = cli("check", "--format", "json", "--repo", repo(CLEAN, toml=toml))
    assert run.code == 1
    found = {(d["code"], d["file"], d["line"]) for d in diagnostics(run)}
    assert found == {("E-ENUM", "cpq.toml", 5), ("E-PERCENT", "cpq.toml", 8)}


# ----------------------------------------------------------------------------- garbage never crashes


def _deep(n: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(n)) + "  " * n + "x\n"


def _alias_bomb() -> str:
    rows = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(rows) + "\n"


GARBAGE = [
    ("quotes/Q-1.yaml", b"\x00\x01\xff\xfe\x80binary", "E-ENCODING"),
    ("quotes/Q-1.yaml", b"", "E-EMPTY"),
    ("quotes/Q-1.yaml", b"# only a comment\n", "E-EMPTY"),
    ("quotes/Q-1.yaml", b"---\n", "E-EMPTY"),
    ("quotes/Q-1.yaml", b"- a\n- b\n", "E-TYPE"),
    ("quotes/Q-1.yaml", b"just a scalar\n", "E-TYPE"),
    ("catalog/x.yaml", b"products: 5\n", "E-TYPE"),
    ("catalog/x.yaml", b"products: [1, [2], {code: {a: b}}]\n", "E-TYPE"),
    ("quotes/Q-1.yaml", _deep(300).encode(), "E-YAML-DEPTH"),
    ("quotes/Q-1.yaml", ("a: " + "[" * 900 + "]" * 900 + "\n").encode(), "E-YAML-DEPTH"),
    ("quotes/Q-1.yaml", ("a: " + "[" * 1200 + "]" * 1200 + "\n").encode(), "E-YAML"),  # libyaml's own limit
    ("quotes/Q-1.yaml", _alias_bomb().encode(), "E-YAML-ALIAS"),
    ("quotes/Q-1.yaml", b"quote: Q-1\n\taccount: acme\n", "E-YAML"),
    ("quotes/Q-1.yaml", b"quote:\tQ-1\naccount:\t\tacme\n", "E-REQUIRED"),  # tabs after a colon are fine
    ("quotes/Q-1.yaml", b"quote: Q-1\nname: a\x07b\n", "E-YAML"),
    ("quotes/Q-1.yaml", b"--- a\n--- b\n", "E-YAML"),
    ("quotes/Q-1.yaml", b"? [1, 2]\n: x\n<<: {a: 1}\n", "E-YAML-KEY"),
    ("quotes/Q-1.yaml", b"!!python/object/apply:os.system [echo hi]\n", "E-TYPE"),
    (
        "contracts/acme/C-1.yaml",
        b"contract: C-1\nlines: {a: 1}\namendments: [1, {amendment: A, effective: x}]\n",
        "E-TYPE",
    ),
    ("cpq.toml", b"\xff\xfe", None),  # an unreadable cpq.toml: exit 2
]


@pytest.mark.parametrize("rel,content,code", GARBAGE, ids=[f"{i}-{g[2]}" for i, g in enumerate(GARBAGE)])
def test_garbage_is_a_finding_never_a_traceback(repo, cli, rel, content, code) -> None:
    root = repo({rel: content}, toml=None) if rel == "cpq.toml" else repo({rel: content})
    run = cli("check", "--format", "json", "--repo", root)
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
    if code is None:
        assert run.code == 2
        return
    assert run.code == 1, run.stderr
    codes = {(d["file"], d["code"]) for d in diagnostics(run)}
    assert (rel, code) in codes, codes
    full = cli("check", "--repo", root)  # the excerpt renderer copes with the same file
    assert full.code == 1 and "Traceback" not in full.stderr and "internal error" not in full.stderr


def test_control_character_is_reported_at_its_position(repo, cli) -> None:
    root = repo({"quotes/Q-1.yaml": "quote: Q-1\nname: Łódź\x07\n".encode()})
    [d] = [d for d in diagnostics(cli("check", "-f", "json", "--repo", root)) if d["code"] == "E-YAML"]
    assert (d["line"], d["column"]) == (2, 11)


def test_alias_bomb_is_refused_quickly(repo, cli) -> None:
    import time

    root = repo({"quotes/Q-1.yaml": _alias_bomb() + "j: &j [*i, *i, *i, *i, *i, *i, *i, *i, *i]\n"})
    t0 = time.perf_counter()
    run = cli("check", "-f", "json", "--repo", root)
    assert time.perf_counter() - t0 < 2
    assert run.code == 1 and any(d["code"] == "E-YAML-ALIAS" for d in diagnostics(run))


def test_unknown_reference_is_not_repeated_for_a_file_that_failed_to_load(repo, cli) -> None:
    """An account.yaml that does not parse is one finding; the contract naming that account adds none."""
    files = dict(CLEAN)
    files["contracts/acme/account.yaml"] = "account: acme\nname: [unclosed\n"
    files["contracts/acme/C-2026-0002.yaml"] = (
        CLEAN["contracts/acme/C-2026-0001.yaml"]
        .replace("C-2026-0001", "C-2026-0002")
        .replace("account: acme", "account: nobody")
    )
    found = {(d["code"], d["file"]) for d in diagnostics(cli("check", "-f", "json", "--repo", repo(files)))}
    assert ("E-YAML", "contracts/acme/account.yaml") in found
    assert ("E-UNKNOWN-ACCOUNT", "contracts/acme/C-2026-0001.yaml") not in found  # acme: its file is broken
    assert ("E-UNKNOWN-ACCOUNT", "contracts/acme/C-2026-0002.yaml") in found  # nobody: defined nowhere


def test_unknown_product_is_not_repeated_when_a_catalog_file_is_broken(repo, cli) -> None:
    files = dict(CLEAN)
    files["catalog/more.yaml"] = "products: [\n"
    files["contracts/acme/C-2026-0001.yaml"] = CLEAN["contracts/acme/C-2026-0001.yaml"].replace(
        "product: SEAT", "product: MAYBE-IN-MORE"
    )
    found = {d["code"] for d in diagnostics(cli("check", "-f", "json", "--repo", repo(files)))}
    assert found == {"E-YAML"}
