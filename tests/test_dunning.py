"""Dunning (issue 19, docs/dunning.md): `cpqctl dunning run` against a real SMTP server (aiosmtpd on 127.0.0.1).

The example repository is invoiced on the 1st of every month of 2026 and paid through the MT940 and CAMT.053
statements of tests/fixtures/bank/ (as tests/test_payments.py does), with cpq.toml [dunning] levels = [7, 21],
suspend_after = 150, compensation = true and interest_rate = "15.25%". On 2026-11-25 the November invoices (due
11-15) are 10 days late — level 1 — and everything older unpaid 41 days or more — level 2. hooli, acme and initech
are Polish, umbrella English; vandelay is made German for this test, so that all three languages go out.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT, invoke, smtp_server

# the test SMTP server takes AUTH without TLS on purpose (it listens on the loopback only)
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

BANK = PROJECT / "tests" / "fixtures" / "bank"
FIRST = "2026-11-25"
LATER = "2026-12-08"
DUNNING = """
[dunning]
levels = [7, 21]
suspend_after = 150
compensation = true
interest_rate = "15.25%"
"""
BILLING = {
    "acme": "anna.nowak@acme.example",
    "hooli": "tomasz.wojcik@hooli.example",
    "initech": "bartosz.lewandowski@initech.example",
    "umbrella": "lena.meier@umbrella.example",
    "vandelay": "arkadiusz.wandel@vandelay.example",
}
LEVEL_1 = {"hooli": ["INV-2026-0032"], "umbrella": ["INV-2026-0031"]}
LEVEL_2 = {
    "acme": ["INV-2026-0016", "INV-2026-0023", "INV-2026-0027"],
    "hooli": ["INV-2026-0015", "INV-2026-0019", "INV-2026-0022", "INV-2026-0026", "INV-2026-0029"],
    "initech": ["INV-2026-0001", "INV-2026-0030"],
    "umbrella": [f"INV-2026-{n:04d}" for n in (4, 7, 10, 13, 17, 20, 24, 28)],
    "vandelay": ["INV-2026-0014", "INV-2026-0018", "INV-2026-0021", "INV-2026-0025"],
}
SUBJECT = {  # the start of each language's subject, by level
    ("pl", 1): "Przypomnienie o płatności",
    ("pl", 2): "2. przypomnienie o płatności",
    ("en", 1): "Payment reminder –",
    ("en", 2): "Payment reminder no. 2",
    ("de", 1): "Zahlungserinnerung",
    ("de", 2): "1. Mahnung",
}
LANGUAGE = {"acme": "pl", "hooli": "pl", "initech": "pl", "umbrella": "en", "vandelay": "de"}


@pytest.fixture(scope="module")
def year(year: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example repository invoiced monthly through 2026, both statements imported (conftest's `year`, copied),
    [dunning] configured, vandelay German, and INV-2026-0032 e-mailed (as an .eml: no record) — then its `sent:`
    written by hand below."""
    root = Path(
        shutil.copytree(year, tmp_path_factory.mktemp("dunning") / "repo", ignore=shutil.ignore_patterns(".cpq"))
    )
    toml = root / "cpq.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + DUNNING, encoding="utf-8")
    account = root / "contracts" / "vandelay" / "account.yaml"
    account.write_text(account.read_text(encoding="utf-8").replace("contacts:", "language: de\ncontacts:"), "utf-8")
    return root


@pytest.fixture
def repo(year: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(year, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq")))


@pytest.fixture
def smtp(repo: Path, monkeypatch: pytest.MonkeyPatch):
    """An SMTP server on 127.0.0.1 requiring AUTH; the repository's cpq.toml [smtp] points at it."""
    with smtp_server() as (port, handler):
        toml = repo / "cpq.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace("port = 2525", f"port = {port}"), encoding="utf-8")
        monkeypatch.setenv("CPQ_SMTP_PASSWORD", "pw")
        yield handler


def _dunning(repo: Path, as_of: str, *extra: object) -> dict:
    r = invoke("dunning", "run", "--repo", repo, "--as-of", as_of, "--format", "json", *extra)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def _file(repo: Path, number: str) -> dict:
    return yaml.safe_load((repo / "invoices" / f"{number}.yaml").read_text(encoding="utf-8"))


def _check_clean(repo: Path) -> None:
    r = invoke("check", "--repo", repo)
    assert r.exit_code == 0, r.stdout + r.stderr


# --------------------------------------------------------------------------- the run


def test_reminders_go_to_the_right_accounts_once_in_their_language_and_are_recorded(repo: Path, smtp) -> None:
    # INV-2026-0032 was e-mailed before: its `sent:` stays the file's last key, the reminder goes before it
    # (--without-ksef: invoices dated from April 2026 go through KSeF first, docs/einvoicing.md; not this test's topic)
    r = invoke("invoice", "send", "INV-2026-0032", "--without-ksef", "--repo", repo, "--as-of", "2026-11-02")
    assert r.exit_code == 0, r.stderr
    assert len(smtp.envelopes) == 1
    smtp.envelopes.clear()

    data = _dunning(repo, FIRST)
    got = {(x["account"], x["level"]): [i["invoice"] for i in x["invoices"]] for x in data["reminders"]}
    expected = {(a, 1): n for a, n in LEVEL_1.items()} | {(a, 2): n for a, n in LEVEL_2.items()}
    assert got == expected
    assert all(x["sent"] for x in data["reminders"])
    # one e-mail per account and level, to its billing contact, in its language, listing its invoices
    messages = smtp.messages()
    import os

    if os.environ.get("DUMP"):
        for m in messages:
            print("=" * 60, m["To"], m["Subject"], m.get_content(), sep="\n")
    assert len(messages) == len(expected) == 7
    by_id = {str(m["Message-ID"]): m for m in messages}
    for x in data["reminders"]:
        m = by_id[x["message_id"]]
        assert str(m["To"]) == BILLING[x["account"]] and x["to"] == [BILLING[x["account"]]]
        lang = LANGUAGE[x["account"]]
        assert x["language"] == lang
        assert str(m["Subject"]).startswith(SUBJECT[(lang, x["level"])]), m["Subject"]
        body = m.get_content()
        for number in got[(x["account"], x["level"])]:
            assert number in body
        assert "Example Software Sp. z o.o." in body
    hooli_1 = by_id[next(x["message_id"] for x in data["reminders"] if x["account"] == "hooli" and x["level"] == 1)]
    assert "Dzień dobry, Tomasz Wójcik," in hooli_1.get_content()
    assert "984,00" in hooli_1.get_content()
    vandelay = next(m for m in messages if "vandelay" in str(m["To"]))
    assert (
        "Verzugszinsen bis 25.11.2026" in vandelay.get_content() and "Mit freundlichen Grüßen" in vandelay.get_content()
    )
    umbrella_1 = next(m for m in messages if "umbrella" in str(m["To"]) and "no. 2" not in str(m["Subject"]))
    assert "compensation for recovery costs (EUR 40)" in umbrella_1.get_content()

    # recorded in each invoice file, outside the digest; the e-mailed one keeps `sent:` last
    for x in data["reminders"]:
        for number in got[(x["account"], x["level"])]:
            assert _file(repo, number)["reminders"] == [
                {"level": x["level"], "date": date(2026, 11, 25), "to": BILLING[x["account"]],
                 "message_id": x["message_id"]}
            ]  # fmt: skip
    text = (repo / "invoices" / "INV-2026-0032.yaml").read_text(encoding="utf-8")
    assert text.index("digest:") < text.index("reminders:") < text.index("sent:")
    assert text.rstrip("\n").splitlines()[-2] == "sent:"
    assert _file(repo, "INV-2026-0033").get("reminders") is None  # December's: not due before 12-15
    _check_clean(repo)

    # the same day again: nothing to send
    again = _dunning(repo, FIRST)
    assert again["reminders"] == [] and len(smtp.envelopes) == 7

    # two weeks later the November invoices reach level 2; nothing else is sent again
    later = _dunning(repo, LATER)
    assert {(x["account"], x["level"]): [i["invoice"] for i in x["invoices"]] for x in later["reminders"]} == {
        ("hooli", 2): ["INV-2026-0032"],
        ("umbrella", 2): ["INV-2026-0031"],
    }
    assert len(smtp.envelopes) == 9
    assert [r["level"] for r in _file(repo, "INV-2026-0032")["reminders"]] == [1, 2]
    assert [r["level"] for r in _file(repo, "INV-2026-0016")["reminders"]] == [2]

    # an invoice reminded first and e-mailed afterwards: `sent:` is appended after `reminders:`
    r = invoke("invoice", "send", "INV-2026-0031", "--without-ksef", "--repo", repo, "--as-of", LATER)
    assert r.exit_code == 0, r.stderr
    sent = _file(repo, "INV-2026-0031")
    assert [r["level"] for r in sent["reminders"]] == [1, 2] and len(sent["sent"]) == 1
    r = invoke("invoice", "send", "INV-2026-0032", "--without-ksef", "--repo", repo, "--as-of", LATER)
    assert r.exit_code == 0, r.stderr
    assert len(_file(repo, "INV-2026-0032")["sent"]) == 2
    _check_clean(repo)


def test_the_suspend_hint_lists_accounts_150_days_past_due(repo: Path, smtp) -> None:
    data = _dunning(repo, FIRST, "--dry-run")
    assert [(h["account"], h["days_overdue"], h["invoices"]) for h in data["suspend"]] == [
        ("hooli", 163, ["INV-2026-0015"]),
        ("initech", 314, ["INV-2026-0001"]),
        ("umbrella", 255, ["INV-2026-0004", "INV-2026-0007", "INV-2026-0010", "INV-2026-0013"]),
        ("vandelay", 163, ["INV-2026-0014"]),
    ]  # acme's oldest, INV-2026-0016, is 133 days late
    assert data["suspend"][2]["open"] == [{"currency": "EUR", "amount": "2749.32"}]


def test_a_dry_run_sends_and_writes_nothing(repo: Path, smtp) -> None:
    before = {p.name: p.read_bytes() for p in (repo / "invoices").glob("*.yaml")}
    r = invoke("dunning", "run", "--repo", repo, "--as-of", FIRST, "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert "Payment reminders to send on 2026-11-25" in r.stdout and "INV-2026-0032" in r.stdout
    assert "Accounts to consider suspending" in r.stdout
    assert "dry run: 7 reminder(s) would be sent on 2026-11-25; nothing sent or written" in r.stderr
    assert smtp.envelopes == []
    assert {p.name: p.read_bytes() for p in (repo / "invoices").glob("*.yaml")} == before
    data = _dunning(repo, FIRST, "--dry-run", "--account", "umbrella")
    assert [(x["account"], x["level"], x["sent"]) for x in data["reminders"]] == [
        ("umbrella", 1, False),
        ("umbrella", 2, False),
    ]
    assert [h["account"] for h in data["suspend"]] == ["umbrella"]


def test_a_repository_template_overrides_the_builtin_one(repo: Path, smtp) -> None:
    (repo / "templates").mkdir()
    (repo / "templates" / "dunning-email.en.txt.j2").write_text(
        "Reminder {{ level }} for {{ account.name }}\n\n{% for i in invoices %}{{ i.number }} {{ i.open }}\n{% endfor %}",
        encoding="utf-8",
    )
    data = _dunning(repo, FIRST, "--account", "umbrella")
    assert [x["subject"] for x in data["reminders"]] == ["Reminder 1 for Umbrella AG", "Reminder 2 for Umbrella AG"]
    assert smtp.messages()[0].get_content().splitlines() == ["INV-2026-0031 687.33"]


def test_a_refused_recipient_is_reported_and_nothing_recorded_for_it(repo: Path, smtp) -> None:
    account = repo / "contracts" / "initech" / "account.yaml"
    account.write_text(account.read_text(encoding="utf-8").replace("bartosz.lewandowski@", "refuse-me@"), "utf-8")
    r = invoke("dunning", "run", "--repo", repo, "--as-of", FIRST)
    assert r.exit_code == 1 and "E-SMTP-REFUSED" in r.stderr and "Traceback" not in r.stderr
    assert "reminder 2 to initech" in r.stderr
    assert len(smtp.envelopes) == 6  # everyone else's went out and is recorded
    assert _file(repo, "INV-2026-0001").get("reminders") is None
    assert [x["level"] for x in _file(repo, "INV-2026-0016")["reminders"]] == [2]
    _check_clean(repo)


def test_a_reminder_delivered_but_not_recorded_says_what_to_add(repo: Path, smtp, monkeypatch) -> None:
    from cpqctl import store

    def full_disk(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.Transaction, "commit", full_disk)
    r = invoke("dunning", "run", "--repo", repo, "--as-of", FIRST, "--account", "hooli")
    assert r.exit_code == 1 and "E-REMINDER-NOT-RECORDED" in r.stderr and "Traceback" not in r.stderr
    assert len(smtp.envelopes) == 1  # the first e-mail went out, then the run stopped
    mid = str(smtp.messages()[0]["Message-ID"])
    assert mid in r.stderr and "No space left" in r.stderr and "invoices/INV-2026-0032.yaml" in r.stderr
    assert "  - {level: 1, date: 2026-11-25, to: tomasz.wojcik@hooli.example" in r.stderr
    assert _file(repo, "INV-2026-0032").get("reminders") is None


# --------------------------------------------------------------------------- the numbers, worked by hand


def test_compensation_and_interest_worked_by_hand(repo: Path) -> None:
    """Art. 10 ust. 1 of the Polish act of 8 March 2013 on preventing excessive delays in commercial transactions
    (Directive 2011/7/EU art. 6): EUR 40 up to PLN 5,000, EUR 70 above up to below 50,000, EUR 100 from 50,000,
    converted at NBP's EUR rate of the last working day of the month before the month the payment was due
    (fx/EUR.yaml); an EUR invoice gets the EUR amount. Statutory interest (art. 7 ust. 1, 15.25% a year here) by the
    day: what was owed each day from the day after the due date to the run's day, × 15.25% ÷ 365, rounded half-up.

    On 2026-11-25:
    - hooli INV-2026-0032, 984.00 PLN due 2026-11-15, 10 days: EUR 40 × 4.2106 (2026-10-30, 212/A/NBP/2026)
      = 168.424 → 168.42 PLN; interest 984.00 × 0.1525 × 10 / 365 = 4.1112… → 4.11.
    - initech INV-2026-0001, 23,751.30 PLN due 2026-01-15, 10,000.00 paid on 2026-01-28: more than 5,000 → EUR 70 ×
      4.2296 (2025-12-31, 251/A/NBP/2025) = 296.072 → 296.07 PLN; interest on 23,751.30 for the 13 days 01-16 to
      01-28 (the day of payment counts), then on 13,751.30 for the 301 days 01-29 to 11-25:
      (23,751.30 × 13 + 13,751.30 × 301) × 0.1525 / 365 = 4,447,908.20 × 0.1525 / 365 = 1,858.3723… → 1,858.37.
    - umbrella INV-2026-0031, 687.33 EUR due 2026-11-15: 687.33 × 4.2106 = 2,894.07 PLN ≤ 5,000 → EUR 40.00;
      interest 687.33 × 0.1525 × 10 / 365 = 2.8717… → 2.87 EUR.
    - acme INV-2026-0016, 18,265.50 PLN due 2026-07-15, 133 days: EUR 70 at the rate of 2026-06-30.
    """
    data = _dunning(repo, FIRST, "--dry-run")
    items = {i["invoice"]: i for x in data["reminders"] for i in x["invoices"]}
    hooli = items["INV-2026-0032"]
    assert hooli["compensation"] == {
        "amount": "168.42",
        "currency": "PLN",
        "eur": "40",
        "rate": "4.2106",
        "table": "212/A/NBP/2026",
        "rate_date": "2026-10-30",
        "claim_pln": "984.00",
    }
    assert hooli["interest"] == "4.11" and hooli["days_overdue"] == 10
    initech = items["INV-2026-0001"]
    assert initech["open"] == "13751.30" and initech["gross_total"] == "23751.30"
    assert (initech["compensation"]["amount"], initech["compensation"]["eur"]) == ("296.07", "70")
    assert initech["compensation"]["rate_date"] == "2025-12-31"
    assert initech["interest"] == "1858.37"
    umbrella = items["INV-2026-0031"]
    assert umbrella["compensation"]["amount"] == "40.00" and umbrella["compensation"]["currency"] == "EUR"
    assert umbrella["compensation"]["claim_pln"] == "2894.07"
    assert umbrella["interest"] == "2.87"
    assert items["INV-2026-0016"]["compensation"]["eur"] == "70"
    assert items["INV-2026-0016"]["compensation"]["rate_date"] == "2026-06-30"
    # the days' changes of what is owed add up to what the ledger says is open, for every chain reminded
    from cpqctl.core.dunning import allocations_by_document, owed_changes
    from cpqctl.core.receivables import ledger
    from cpqctl.load.repo import load_repo

    loaded, _ = load_repo(repo)
    led = ledger(loaded, date(2026, 11, 25))
    allocations = allocations_by_document(loaded.payments.values(), date(2026, 11, 25))
    for number in items:
        chain = led.chains[number]
        assert sum(c for _, c in owed_changes(loaded, chain, allocations)) == chain.open
    totals = next(x for x in data["reminders"] if x["account"] == "hooli" and x["level"] == 1)["totals"]
    assert totals == [
        {"currency": "PLN", "open": "984.00", "interest": "4.11", "compensation": "168.42", "total": "1156.53"}
    ]


def test_the_thresholds_and_the_rounding_of_the_rules() -> None:
    """Art. 10 ust. 1 pkt 1–3: at most 5,000 → 40; above 5,000 and below 50,000 → 70; 50,000 or more → 100.
    Interest rounds once, half-up: 10.00 at 18.25% for one day is 10 × 0.1825 / 365 = 0.005 → 0.01."""
    from cpqctl.core.dunning import compensation_eur, level_reached, statutory_interest

    assert [compensation_eur(Decimal(v)) for v in ("0.01", "5000.00", "5000.01", "49999.99", "50000.00")] == [
        40,
        40,
        70,
        70,
        100,
    ]
    due = date(2026, 1, 15)
    one_day = [(date(2026, 1, 1), Decimal("10.00"))]
    assert statutory_interest(one_day, due, date(2026, 1, 16), Decimal("18.25"), "PLN") == Decimal("0.01")
    assert statutory_interest(one_day, due, due, Decimal("18.25"), "PLN") == Decimal("0.00")
    # a payment in full on the day after the due date: that day still counts, nothing after it
    paid = [*one_day, (date(2026, 1, 17), Decimal("-10.00"))]
    assert statutory_interest(paid, due, date(2026, 3, 1), Decimal("36.5"), "PLN") == Decimal("0.01")
    assert [level_reached(d, (7, 21, 45)) for d in (0, 6, 7, 20, 21, 44, 45, 400)] == [0, 0, 1, 1, 2, 2, 3, 3]


# --------------------------------------------------------------------------- configuration and refusals


def test_defaults_without_a_dunning_section() -> None:
    from cpqctl.core.dunning import DunningConfig, dunning_config
    from cpqctl.core.model import Settings

    assert dunning_config(Settings()) == DunningConfig((7, 21), 60, False, None)


@pytest.mark.parametrize(
    ("section", "code"),
    [
        ("\n[dunning]\nlevels = [21, 7]\n", "E-DUNNING-CONFIG"),
        ("\n[dunning]\nlevels = [0, 7]\n", "E-DUNNING-CONFIG"),
        ("\n[dunning]\ncompensation = true\n", "E-DUNNING-CONFIG"),  # with a USD company, below
        ('\n[dunning]\ninterest_rate = "15.25"\n', "E-PERCENT"),
        ("\n[dunning]\nlevel = [7]\n", "E-UNKNOWN-KEY"),
    ],
)
def test_a_bad_dunning_section_is_refused_with_a_hint(repo: Path, section: str, code: str) -> None:
    toml = repo / "cpq.toml"
    text = toml.read_text(encoding="utf-8").replace(DUNNING, section)
    if "compensation" in section:  # the Polish compensation needs a PLN company
        text = text.replace('currency = "PLN"', 'currency = "USD"', 1)
        (repo / "fx" / "USD.yaml").unlink()
    toml.write_text(text, encoding="utf-8")
    r = invoke("dunning", "run", "--repo", repo, "--as-of", FIRST, "--dry-run")
    assert r.exit_code == 1, r.stderr
    assert code in r.stderr and "hint" in r.stderr and "Traceback" not in r.stderr


def test_a_reminders_list_in_another_shape_is_refused_not_rewritten(repo: Path) -> None:
    from cpqctl.core.diagnostics import CpqError
    from cpqctl.formats.invoice import reminder_added_text
    from cpqctl.load.repo import load_repo

    loaded, _ = load_repo(repo)
    inv = loaded.invoices["INV-2026-0032"]
    text = (repo / "invoices" / "INV-2026-0032.yaml").read_text(encoding="utf-8")
    new = reminder_added_text(text, inv, 1, date(2026, 11, 25), ["a@b.example"], "<m@id>")
    assert new.startswith(text) and new[len(text) :] == (
        'reminders:\n  - {level: 1, date: 2026-11-25, to: a@b.example, message_id: "<m@id>"}\n'
    )
    with pytest.raises(CpqError) as e:
        reminder_added_text(text + "reminders: []\n", inv, 1, date(2026, 11, 25), ["a@b.example"], "<m@id>")
    assert e.value.code == "E-REMINDERS-NOT-LIST"
