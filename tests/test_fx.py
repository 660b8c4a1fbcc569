"""Exchange-rate tables (fx/<CUR>.yaml, docs/fx.md): NBP's formats, the tax-point rule, the import, `check`."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cpqctl.app import fx as fxapp
from cpqctl.app.workspace import Workspace
from cpqctl.core import fx
from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import FxRate, FxTable, Settings, Source
from cpqctl.formats import fx as fxformat
from cpqctl.load import repo as loader
from tests.conftest import PROJECT

D = Decimal
FIXTURES = Path(__file__).parent / "fixtures" / "fx"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def by_key(quotes) -> dict[tuple[str, date], fxformat.Quote]:
    return {(q.currency, q.day): q for q in quotes}


# --------------------------------------------------------------------------- parsers


def test_rates_json_is_one_currency_series_in_exact_decimals():
    quotes = fxformat.parse("rates_a_eur.json", fixture("rates_a_eur.json"))
    assert [(q.currency, q.day, q.rate, q.table) for q in quotes] == [
        ("EUR", date(2026, 11, 26), D("4.2197"), "230/A/NBP/2026"),
        ("EUR", date(2026, 11, 27), D("4.2318"), "231/A/NBP/2026"),
        ("EUR", date(2026, 11, 30), D("4.2264"), "232/A/NBP/2026"),
        ("EUR", date(2026, 12, 1), D("4.2301"), "233/A/NBP/2026"),
    ]
    assert all(type(q.rate) is Decimal for q in quotes)


def test_tables_json_is_every_currency_of_each_table():
    quotes = by_key(fxformat.parse("tables_a.json", fixture("tables_a.json")))
    assert len(quotes) == 12
    assert quotes[("EUR", date(2026, 11, 30))].rate == D("4.2264")
    assert quotes[("EUR", date(2026, 11, 30))].table == "232/A/NBP/2026"
    assert quotes[("HUF", date(2026, 11, 27))].rate == D("0.011062")  # the API quotes one forint
    assert quotes[("IDR", date(2026, 11, 27))].rate == D("0.00021525")


def test_rates_xml_and_tables_xml():
    series = fxformat.parse("rates_a_eur.xml", fixture("rates_a_eur.xml"))
    assert [(q.day, q.rate, q.table) for q in series] == [
        (date(2026, 11, 26), D("4.2197"), "230/A/NBP/2026"),
        (date(2026, 11, 27), D("4.2318"), "231/A/NBP/2026"),
        (date(2026, 11, 30), D("4.2264"), "232/A/NBP/2026"),
    ]
    tables = by_key(fxformat.parse("tables_a.xml", fixture("tables_a.xml")))
    assert tables[("USD", date(2026, 11, 30))].rate == D("3.6478")
    assert tables[("HUF", date(2026, 11, 30))].table == "232/A/NBP/2026"


def test_archive_csv_windows_1250_decimal_comma_and_multipliers():
    data = fixture("archiwum_tab_a_2026.csv")
    assert "pełny".encode("cp1250") in data  # the fixture is in NBP's encoding
    quotes = by_key(fxformat.parse("archiwum_tab_a_2026.csv", data))
    assert len(quotes) == 3 * 7  # footers (kod ISO, nazwa waluty, liczba jednostek) and names are not rows
    assert quotes[("EUR", date(2026, 11, 30))].rate == D("4.2264")  # 4,2264
    assert quotes[("HUF", date(2026, 11, 30))].rate == D("0.011048")  # 100HUF 1,1048
    assert quotes[("JPY", date(2026, 11, 27))].rate == D("0.023451")  # 100JPY 2,3451
    assert quotes[("IDR", date(2026, 11, 27))].rate == D("0.00021525")  # 10000IDR 2,1525
    assert quotes[("THB", date(2026, 11, 26))].table == "230/A/NBP/2026"
    assert quotes[("EUR", date(2026, 11, 26))].src == Source("archiwum_tab_a_2026.csv", 3, 1)


def test_the_formats_agree_with_each_other():
    csv_q = by_key(fxformat.parse("a.csv", fixture("archiwum_tab_a_2026.csv")))
    for name in ("tables_a.json", "tables_a.xml", "rates_a_eur.json", "rates_a_eur.xml"):
        for key, q in by_key(fxformat.parse(name, fixture(name))).items():
            if key in csv_q:
                assert (q.rate, q.table) == (csv_q[key].rate, csv_q[key].table), (name, key)


def test_archive_csv_in_utf8_and_the_short_table_number():
    text = "data;1EUR;100HUF;nr tabeli;\n20260102;4,2150;1,0950;1;\n"
    quotes = fxformat.parse("x.csv", text.encode("utf-8"))
    assert [(q.currency, q.rate, q.table) for q in quotes] == [
        ("EUR", D("4.2150"), "001/A/NBP/2026"),
        ("HUF", D("0.010950"), "001/A/NBP/2026"),
    ]


@pytest.mark.parametrize(
    ("name", "text", "where", "says"),
    [
        ("bad.json", '{"table":"A",\n"code":"EUR",', "bad.json:2:14", "not valid JSON"),
        (
            "bad.json",
            '{"table":"A","code":"EUR",\n"rates":[\n{"no":"1/A/NBP/2026","effectiveDate":"2026-01-02","mid":4.2},\n'
            '{"no":"2/A/NBP/2026","effectiveDate":"2026-01-05","mid":"x"}]}',
            "bad.json:4:1",
            "`x` is not an exchange rate",
        ),
        (
            "c.json",
            '[{"table":"C","no":"1/C/NBP/2026","effectiveDate":"2026-01-02","rates":[]}]',
            "c.json:1:1",
            "table C, not table A",
        ),
        (
            "bad.xml",
            '<?xml version="1.0"?>\n<ExchangeRatesSeries>\n<Table>A</Table>\n<Code>EUR</Code>\n<Rates>\n'
            "<Rate><No>1/A/NBP/2026</No><EffectiveDate>2026-02-30</EffectiveDate><Mid>4.2</Mid></Rate>\n"
            "</Rates></ExchangeRatesSeries>\n",
            "bad.xml:6:28",
            "`2026-02-30` is not a day",
        ),
        ("broken.xml", "<ExchangeRatesSeries>\n<Table>A</Table>\n</Rates>", "broken.xml:3:3", "not valid XML"),
        ("bad.csv", "data;1EUR;nr tabeli;\n20260102;4,2;1;\n2026013;4,3;2;\n", "bad.csv:3:1", "`2026013` is not a day"),
        ("bad.csv", "data;1EUR;nr tabeli;\n20260102;-4,2;1;\n", "bad.csv:2:10", "not an exchange rate"),
        ("none.csv", "kurs;euro\n1;2\n", "none.csv:1:1", "no header row"),
        ("empty.json", "  \n", "empty.json:1:1", "is empty"),
    ],
)
def test_bad_input_is_an_error_at_file_line(name, text, where, says):
    with pytest.raises(CpqError) as e:
        fxformat.parse(name, text.encode("utf-8"))
    assert e.value.code == "E-FX-FORMAT"
    assert str(e.value.src) == where
    assert says in e.value.message
    assert e.value.hint


def test_a_rate_that_is_not_exact_in_ten_places_is_refused():
    with pytest.raises(CpqError) as e:
        fxformat.parse("x.csv", b"data;10000IDR;nr tabeli;\n20260102;2,1525123;1;\n")
    assert e.value.code == "E-FX-FORMAT" and "more than 10 decimal places" in e.value.message


def test_an_xml_entity_declaration_is_refused():
    text = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n<ExchangeRatesSeries/>'
    with pytest.raises(CpqError) as e:
        fxformat.parse("evil.xml", text.encode())
    assert e.value.code == "E-FX-FORMAT"


# --------------------------------------------------------------------------- the tax-point rule

# Polish working days around St Andrew's and Independence Day 2026 (11 November, a Wednesday: no table)
DAYS = [
    (date(2026, 11, 6), "4.2001", "216"),  # Friday
    (date(2026, 11, 9), "4.2010", "217"),
    (date(2026, 11, 10), "4.2020", "218"),
    (date(2026, 11, 12), "4.2030", "219"),  # 11 November: a holiday
    (date(2026, 11, 26), "4.2197", "230"),
    (date(2026, 11, 27), "4.2318", "231"),  # Friday
    (date(2026, 11, 30), "4.2264", "232"),  # Monday
]
EUR = FxTable(
    "EUR",
    "NBP table A",
    tuple(FxRate(d, D(r), f"{n}/A/NBP/2026", Source("fx/EUR.yaml", i + 4, 3)) for i, (d, r, n) in enumerate(DAYS)),
    Source("fx/EUR.yaml", 4, 3),
)
SETTINGS = Settings(currency="PLN", fx={"EUR": D("4.30"), "USD": D("3.70")}, fx_tables={"EUR": EUR})


def test_a_monday_tax_point_takes_fridays_table():
    r = fx.rate_for_tax_point(SETTINGS, "EUR", date(2026, 11, 30))
    assert (r.day, r.rate, r.table) == (date(2026, 11, 27), D("4.2318"), "231/A/NBP/2026")
    assert fx.rate_for_tax_point(SETTINGS, "EUR", date(2026, 11, 29)).day == date(2026, 11, 27)  # a Sunday too


def test_the_day_after_a_holiday_takes_the_day_before_the_holiday():
    assert fx.rate_for_tax_point(SETTINGS, "EUR", date(2026, 11, 12)).day == date(2026, 11, 10)
    assert fx.rate_for_tax_point(SETTINGS, "EUR", date(2026, 11, 11)).day == date(2026, 11, 10)


def test_strictly_before_never_the_tax_points_own_table():
    assert fx.rate_for_tax_point(SETTINGS, "EUR", date(2026, 11, 27)).day == date(2026, 11, 26)
    assert fx.rate_for_tax_point(SETTINGS, "EUR", date(2026, 12, 1)).day == date(2026, 11, 30)


def test_stale_when_the_latest_rate_is_more_than_seven_days_older():
    assert fx.rate_for_tax_point(SETTINGS, "EUR", date(2026, 11, 19)).day == date(2026, 11, 12)  # 7 days: fine
    with pytest.raises(CpqError) as e:
        fx.rate_for_tax_point(SETTINGS, "EUR", date(2026, 11, 20))  # 8 days after the 12th: a gap in the file
    assert e.value.code == "E-FX-STALE"
    assert str(e.value.src) == "fx/EUR.yaml:7:3"
    assert "cpqctl fx import" in e.value.hint
    with pytest.raises(CpqError) as e:
        fx.rate_for_tax_point(SETTINGS, "EUR", date(2027, 1, 15))
    assert e.value.code == "E-FX-STALE"


def test_missing_without_a_table_or_a_rate_before_the_day():
    with pytest.raises(CpqError) as e:
        fx.rate_for_tax_point(SETTINGS, "USD", date(2026, 11, 30))
    assert e.value.code == "E-FX-MISSING" and "fx/USD.yaml" in e.value.message
    assert "cpqctl fx import" in e.value.hint
    with pytest.raises(CpqError) as e:
        fx.rate_for_tax_point(SETTINGS, "EUR", date(2026, 11, 6))  # the first table's own day
    assert e.value.code == "E-FX-MISSING" and "cpqctl fx import" in e.value.hint
    with pytest.raises(CpqError) as e:
        fx.rate_for_tax_point(SETTINGS, "PLN", date(2026, 11, 30))
    assert e.value.code == "E-FX-CURRENCY"


def test_convert_rounds_half_up_to_grosze():
    assert fx.convert(D("2300.00"), D("4.2318"), 2) == D("9733.14")
    assert fx.convert(D("0.50"), D("4.2050"), 2) == D("2.10")  # 2.1025 → 2.10
    assert fx.convert(D("0.10"), D("4.2050"), 2) == D("0.42")  # 0.42050 → 0.42
    assert fx.convert(D("1.00"), D("0.005"), 2) == D("0.01")  # a tie goes up
    assert fx.convert(D("-1.00"), D("0.005"), 2) == D("-0.01")  # and away from zero
    assert str(fx.convert(D("100"), D("4.2"), 2)) == "420.00"


def test_report_rate_table_else_cpq_toml():
    assert fx.report_rate(SETTINGS, "EUR", date(2026, 11, 30)) == (D("4.2264"), "NBP 232/A/NBP/2026 of 2026-11-30")
    assert fx.report_rate(SETTINGS, "EUR", date(2026, 11, 29)) == (D("4.2318"), "NBP 231/A/NBP/2026 of 2026-11-27")
    assert fx.report_rate(SETTINGS, "USD", date(2026, 11, 30)) == (D("3.70"), "cpq.toml [fx]")
    assert fx.report_rate(SETTINGS, "EUR", date(2027, 6, 30)) == (D("4.30"), "cpq.toml [fx]")  # tables end
    assert fx.report_rate(SETTINGS, "PLN", date(2026, 11, 30)) == (D(1), "PLN")
    with pytest.raises(CpqError) as e:
        fx.report_rate(SETTINGS, "CHF", date(2026, 11, 30))
    assert e.value.code == "E-FX-MISSING"
    only_tables = Settings(currency="PLN", fx_tables={"EUR": EUR})
    with pytest.raises(CpqError) as e:
        fx.report_rate(only_tables, "EUR", date(2027, 6, 30))
    assert e.value.code == "E-FX-STALE"


# --------------------------------------------------------------------------- the files


def make_repo(repo, fx_files: dict[str, str], toml: str | None = None):
    files = {f"fx/{k}.yaml": v for k, v in fx_files.items()}
    return repo(files, **({"toml": toml} if toml else {}))


GOOD = """
# kept comment
currency: EUR
source: NBP table A
rates:
  2026-11-27: {rate: 4.2318, table: 231/A/NBP/2026}
  2026-11-30: {rate: 4.2264, table: 232/A/NBP/2026}
"""


def test_fx_files_load_with_the_settings(repo):
    root = make_repo(repo, {"EUR": GOOD})
    settings, diags = loader.load_settings(root)
    assert diags == []
    t = settings.fx_tables["EUR"]
    assert (t.currency, t.source) == ("EUR", "NBP table A")
    assert [(r.day, r.rate, r.table) for r in t.rates] == [
        (date(2026, 11, 27), D("4.2318"), "231/A/NBP/2026"),
        (date(2026, 11, 30), D("4.2264"), "232/A/NBP/2026"),
    ]
    assert t.rates[1].src == Source("fx/EUR.yaml", 6, 3)


@pytest.mark.parametrize(
    ("text", "code", "where"),
    [
        ("currency: EUR\nrates:\n  2026-11-27: {rate: 4.23181234567}\n", "E-PLACES", "3:22"),
        ("currency: EUR\nrates:\n  2026-11-27: {rate: 0}\n", "E-RANGE", "3:22"),
        ("currency: EUR\nrates:\n  2026-11-27: {rate: 4.2}\n  2026-11-27: {rate: 4.3}\n", "E-DUPLICATE-KEY", "4:3"),
        ("currency: EUR\nrates:\n  2026-11-31: {rate: 4.2}\n", "E-DATE", "3:3"),
        ("currency: EUR\nrates:\n  2026-11-27: 4.2\n", "E-TYPE", "3:15"),
        ("currency: USD\nrates:\n  2026-11-27: {rate: 4.2}\n", "E-ID-MISMATCH", "1:11"),
        ("currency: EUR\nrates:\n  2026-11-27: {rate: 4.2, tabel: x}\n", "E-UNKNOWN-KEY", "3:27"),
        ("currency: EUR\n", "E-REQUIRED", "1:1"),
    ],
)
def test_schema_errors_at_file_line_col(repo, cli, text, code, where):
    root = make_repo(repo, {"EUR": text})
    _, diags = loader.load_settings(root)
    found = [(d.code, f"{d.line}:{d.column}") for d in diags]
    assert (code, where) in found, found
    run = cli("check", "--repo", root)
    assert run.code == 1 and f"fx/EUR.yaml:{where}: error[{code}]" in run.stdout + run.stderr


def test_check_warns_of_a_weekend_rate_and_refuses_the_company_currency(repo, cli):
    weekend = "currency: EUR\nrates:\n  2026-11-28: {rate: 4.2318, table: 231/A/NBP/2026}\n"
    pln = "currency: PLN\nrates:\n  2026-11-27: {rate: 1}\n"
    root = make_repo(repo, {"EUR": weekend, "PLN": pln})
    run = cli("check", "--repo", root, "--format", "json")
    found = {(d["code"], d["severity"], d["file"], d["line"]) for d in json.loads(run.stdout)["diagnostics"]}
    assert ("W-FX-WEEKEND", "warning", "fx/EUR.yaml", 3) in found
    assert ("E-FX-CURRENCY", "error", "fx/PLN.yaml", 3) in found
    assert run.code == 1


def test_the_example_repository_checks_clean_with_its_fx_files(cli, example_repo):
    root = example_repo
    run = cli("check", "--repo", root)
    assert run.code == 0, run.stdout + run.stderr
    settings, _ = loader.load_settings(root)
    assert {"EUR", "USD", "CHF"} <= set(settings.fx_tables)
    eur = settings.fx_tables["EUR"]
    assert eur.rates[0].day <= date(2026, 1, 1) and eur.rates[-1].day >= date(2028, 12, 29)
    assert "example" in (PROJECT / "fx" / "EUR.yaml").read_text(encoding="utf-8").splitlines()[0].lower()
    # every day from 2026 to the tables' end has a usable rate (no gap of more than a week)
    day = date(2026, 1, 1)
    while day <= date(2028, 12, 30):
        fx.rate_for_tax_point(settings, "EUR", day)
        day = date.fromordinal(day.toordinal() + 1)


@pytest.fixture
def no_fx(example_repo: Path) -> Path:
    """The example data repository without its fx/ tables: what an import starts from in a new repository."""
    shutil.rmtree(example_repo / "fx")
    return example_repo


# --------------------------------------------------------------------------- the import


def inputs(*names: str) -> list[tuple[str, bytes]]:
    return [(n, fixture(n)) for n in names]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of fx/ by path (empty: no folder)."""
    folder = root / "fx"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(folder.glob("*"))} if folder.is_dir() else {}


def test_import_merges_sorted_and_is_idempotent(no_fx):
    ws = Workspace(no_fx, date(2026, 12, 2))
    first = fxapp.import_rates(ws, inputs=inputs("tables_a.json"))
    assert first.written == ("fx/EUR.yaml",)  # the example repository's accounts use EUR (and PLN) only
    assert first.data["skipped"] == ["CHF", "HUF", "IDR", "JPY", "USD"]
    second = fxapp.import_rates(ws, inputs=inputs("rates_a_eur.json"))  # 26 Nov before, 1 Dec after
    assert second.rows[0]["added"] == 2 and second.rows[0]["unchanged"] == 2
    text = (no_fx / "fx/EUR.yaml").read_text(encoding="utf-8")
    assert text == (
        "currency: EUR\n"
        "source: NBP table A\n"
        "rates:\n"
        "  2026-11-26: {rate: 4.2197, table: 230/A/NBP/2026}\n"
        "  2026-11-27: {rate: 4.2318, table: 231/A/NBP/2026}\n"
        "  2026-11-30: {rate: 4.2264, table: 232/A/NBP/2026}\n"
        "  2026-12-01: {rate: 4.2301, table: 233/A/NBP/2026}\n"
    )
    before = snapshot(no_fx)
    for name in ("rates_a_eur.json", "rates_a_eur.xml", "tables_a.xml", "archiwum_tab_a_2026.csv"):
        again = fxapp.import_rates(ws, inputs=inputs(name))
        assert again.written == () and sum(r["added"] for r in again.rows) == 0
    assert snapshot(no_fx) == before


def test_import_keeps_the_comments_and_source_of_a_file(repo):
    root = make_repo(repo, {"EUR": GOOD})
    fxapp.import_rates(Workspace(root, date(2026, 12, 2)), inputs=inputs("rates_a_eur.json"))
    text = (root / "fx/EUR.yaml").read_text(encoding="utf-8")
    assert text.startswith("# kept comment\ncurrency: EUR\nsource: NBP table A\nrates:\n  2026-11-26:")
    assert text.count("\n  2026-") == 4


def test_a_different_rate_for_a_day_is_refused_and_nothing_is_written(repo):
    usd = "currency: USD\nrates:\n  2026-11-20: {rate: 3.6600, table: 226/A/NBP/2026}\n"
    changed = GOOD.replace("4.2264", "4.2265")
    root = make_repo(repo, {"EUR": changed, "USD": usd})
    before = snapshot(root)
    with pytest.raises(CpqError) as e:  # USD would be added, EUR conflicts: neither is written
        fxapp.import_rates(Workspace(root, date(2026, 12, 2)), inputs=inputs("tables_a.json"))
    assert e.value.code == "E-FX-CONFLICT"
    assert "2026-11-30" in e.value.message and "4.2265" in e.value.message and "4.2264" in e.value.message
    assert str(e.value.src) == "fx/EUR.yaml:6:3"
    assert snapshot(root) == before
    assert not list((root / "fx").glob("*.tmp*")) and not (root / ".cpq" / "journal.json").exists()


def test_two_inputs_that_disagree_are_refused(repo):
    root = make_repo(repo, {})
    other = fixture("rates_a_eur.json").replace(b"4.2264", b"4.2265")
    with pytest.raises(CpqError) as e:
        fxapp.import_rates(
            Workspace(root, date(2026, 12, 2)), inputs=[*inputs("rates_a_eur.json"), ("other.json", other)]
        )
    assert e.value.code == "E-FX-CONFLICT"
    assert snapshot(root) == {}


def test_dry_run_writes_nothing_and_currencies_can_be_chosen(repo):
    root = make_repo(repo, {})
    ws = Workspace(root, date(2026, 12, 2))
    dry = fxapp.import_rates(ws, inputs=inputs("archiwum_tab_a_2026.csv"), currencies=["HUF", "EUR"], dry_run=True)
    assert dry.written == ("fx/EUR.yaml", "fx/HUF.yaml") and snapshot(root) == {}
    # a repository using only its own currency keeps every currency of the input
    every = fxapp.import_rates(ws, inputs=inputs("archiwum_tab_a_2026.csv"))
    assert len(every.written) == 7 and "fx/PLN.yaml" not in every.written
    settings, diags = loader.load_settings(root)
    assert diags == [] and settings.fx_tables["HUF"].rates[-1].rate == D("0.011048")


# --------------------------------------------------------------------------- the command line


def test_cli_import_end_to_end(cli, no_fx):
    csv = FIXTURES / "archiwum_tab_a_2026.csv"
    run = cli("fx", "import", csv, "--repo", no_fx, "--dry-run")
    assert run.code == 0 and "would add 3" in run.stdout and not (no_fx / "fx").exists()
    run = cli("fx", "import", csv, FIXTURES / "tables_a.xml", "--currency", "EUR,usd", "--repo", no_fx)
    assert run.code == 0, run.stderr
    assert sorted(p.name for p in (no_fx / "fx").iterdir()) == ["EUR.yaml", "USD.yaml"]
    run = cli("fx", "import", FIXTURES / "rates_a_eur.json", "--repo", no_fx, "--format", "json")
    data = json.loads(run.stdout)
    assert run.code == 0 and data["files"] == ["fx/EUR.yaml"] and data["currencies"][0]["added"] == 1
    assert cli("check", "--repo", no_fx).code == 0
    settings, _ = loader.load_settings(no_fx)
    assert fx.rate_for_tax_point(settings, "EUR", date(2026, 11, 30)).table == "231/A/NBP/2026"


def test_cli_refusals_are_messages_not_tracebacks(cli, no_fx, tmp_path):
    run = cli("fx", "import", FIXTURES / "rates_a_eur.json", "--repo", no_fx)
    assert run.code == 0
    before = snapshot(no_fx)
    bad = tmp_path / "bad.json"
    bad.write_bytes(fixture("rates_a_eur.json").replace(b"4.2318", b"4.3318"))
    run = cli("fx", "import", bad, "--repo", no_fx)
    assert run.code == 1 and "error[E-FX-CONFLICT]" in run.stderr and "fx/EUR.yaml:" in run.stderr
    run = cli("fx", "import", bad, "--repo", no_fx, "--format", "json")
    assert run.code == 1 and json.loads(run.stdout)["error"]["code"] == "E-FX-CONFLICT"
    broken = tmp_path / "archiwum.csv"
    broken.write_text("data;1EUR;nr tabeli;\n20261201;4,2301;233;\n20261232;4,3;234;\n", encoding="utf-8")
    run = cli("fx", "import", broken, "--repo", no_fx)
    assert run.code == 1 and f"{broken}:3:1: error[E-FX-FORMAT]" in run.stderr and "hint:" in run.stderr
    run = cli("fx", "import", tmp_path / "missing.json", "--repo", no_fx)
    assert run.code == 2 and "error[E-USAGE]" in run.stderr
    run = cli("fx", "import", bad, "--currency", "EURO", "--repo", no_fx)
    assert run.code == 2 and "error[E-USAGE]" in run.stderr
    assert "Traceback" not in run.stderr
    assert snapshot(no_fx) == before


# --------------------------------------------------------------------------- a big repository


def test_an_import_on_a_repository_read_in_parts_writes_what_the_whole_one_does(
    no_fx, tmp_path, monkeypatch, parts_read
):
    """Over ``CPQ_CHUNK_FILES`` the currencies the repository uses are read a part at a time (issue 21: the whole
    model of 50,000 accounts took 0.9 GB), and the files are checked on their own: the same rows, messages, files
    and refusals as the whole repository's, each step of a run of imports (a new table, a merge, a second import
    that adds nothing, a dry run, a conflict)."""
    other = Path(shutil.copytree(no_fx, tmp_path / "whole", ignore=shutil.ignore_patterns(".cpq")))
    conflicting = fixture("rates_a_eur.json").replace(b"4.2264", b"4.2265")
    steps = [
        ({"inputs": inputs("tables_a.json")}, None),
        ({"inputs": inputs("rates_a_eur.json")}, None),
        ({"inputs": inputs("rates_a_eur.xml")}, None),
        ({"inputs": inputs("archiwum_tab_a_2026.csv"), "currencies": ["HUF", "EUR"], "dry_run": True}, None),
        ({"inputs": [("other.json", conflicting)]}, "E-FX-CONFLICT"),
        ({"inputs": inputs("archiwum_tab_a_2026.csv"), "currencies": ["USD"]}, None),
    ]
    for kwargs, code in steps:
        got = []
        for root, size in ((no_fx, "8"), (other, "100000000")):
            monkeypatch.setenv("CPQ_CHUNK_FILES", size)
            try:
                r = fxapp.import_rates(Workspace(root, date(2026, 12, 2)), **kwargs)
                got.append((r.written, r.rows, r.data, r.message))
            except CpqError as e:
                got.append((e.code, e.message, str(e.src)))
        assert got[0] == got[1]
        assert code is None or got[0][0] == code
        assert snapshot(no_fx) == snapshot(other)
    assert parts_read == [True] * len(steps)  # the parts answered; the whole repository planned none
    assert len(snapshot(no_fx)) == 2  # EUR, then USD
