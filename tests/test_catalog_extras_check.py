"""`cpqctl check` and `catalog show` on issue 15's catalog fields (docs/pricing-extras.md).

Pricing refuses an amount-off tier that gives both or neither of `discount`
and `amount_off` (E-SCHEDULE), takes more than a product's list unit price
off (E-TIER-AMOUNT), and `overage:` on a product that is not block-priced
(E-PRODUCT-OVERAGE). `check` reports the same problems with the same codes,
at the tier's or product's position, before a quote reaches them. `catalog
show` shows an amount-off tier as its amount (not `discount: 0%`) and a
block product's overage.

Each test edits a copy of the example repository (the `example_repo`
fixture) and runs the CLI on it; expected positions are derived from the
edited file texts (1-based line of a marker, column of a token).
"""

from __future__ import annotations

import json
from pathlib import Path

LICENSES = "catalog/licenses.yaml"
ADDONS = "catalog/addons.yaml"
# SEAT-VOLUME (range) is PRO-SEAT's schedule: PRO-SEAT lists at PLN 1200.00 / EUR 280.00
SEAT_TIER_51 = "      - {from: 51, discount: 20%}\n"
STORAGE_LAST_BLOCK = "      - {up_to: 200, price: {PLN: 1200.00, EUR: 280.00}}\n"
SSO_PRICE = "    price: {PLN: 500.00, EUR: 120.00}\n    requires: [PRO-SEAT]\n"
WIDE = {"COLUMNS": "400"}  # one table row per field, never wrapped


def edit(root: Path, rel: str, old: str, new: str) -> str:
    """Replace the one occurrence of ``old`` in ``root/rel`` by ``new``; the new text."""
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{rel}: {old!r} is not there exactly once"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return text


def at(root: Path, rel: str, marker: str, token: str) -> tuple[int, int]:
    """(line, column), 1-based, of ``token`` on the line of ``rel`` holding ``marker``."""
    lines = (root / rel).read_text(encoding="utf-8").splitlines()
    n = next(i for i, ln in enumerate(lines) if marker in ln)
    return n + 1, lines[n].index(token) + 1


def findings(cli, root: Path) -> list[dict]:
    run = cli("check", "--repo", root, "--format", "json")
    out = json.loads(run.stdout)["diagnostics"]
    assert run.code == (1 if any(d["severity"] == "error" for d in out) else 0)
    return out


def only(diags: list[dict], code: str) -> list[dict]:
    return [d for d in diags if d["code"] == code]


def pos(d: dict) -> tuple[str, int, int]:
    return d["file"], d["line"], d["column"]


# --------------------------------------------------------------------------- check


def test_the_example_repository_has_none_of_these_findings(example_repo, cli) -> None:
    assert findings(cli, example_repo) == []


def test_a_clean_amount_off_tier_and_a_block_overage_are_no_findings(example_repo, cli) -> None:
    # 1200.00 PLN off a 1200.00 seat is allowed (the seats are free); EUR 300.00 > 280.00 would not be,
    # but 280.00 is exactly the EUR price; a currency PRO-SEAT has no price in is not compared
    edit(
        example_repo, LICENSES, SEAT_TIER_51, "      - {from: 51, amount_off: {PLN: 1200.00, EUR: 280.00, USD: 9999}}\n"
    )
    edit(example_repo, ADDONS, STORAGE_LAST_BLOCK, STORAGE_LAST_BLOCK + "    overage: {PLN: 5.00, EUR: 1.25}\n")
    assert findings(cli, example_repo) == []


def test_a_tier_with_both_discount_and_amount_off_is_e_schedule_at_its_amount_off(example_repo, cli) -> None:
    edit(example_repo, LICENSES, SEAT_TIER_51, "      - {from: 51, discount: 20%, amount_off: {PLN: 5.00}}  # both\n")
    diags = only(findings(cli, example_repo), "E-SCHEDULE")
    assert [pos(d) for d in diags] == [(LICENSES, *at(example_repo, LICENSES, "# both", "{PLN"))]
    (d,) = diags
    assert "SEAT-VOLUME" in d["message"] and "from 51" in d["message"]
    assert "both `discount` and `amount_off`" in d["message"]
    assert d["severity"] == "error" and d["hint"]


def test_a_tier_with_neither_is_e_schedule_at_the_tier(example_repo, cli) -> None:
    edit(example_repo, LICENSES, SEAT_TIER_51, "      - {from: 51}  # neither\n")
    diags = only(findings(cli, example_repo), "E-SCHEDULE")
    assert [pos(d) for d in diags] == [(LICENSES, *at(example_repo, LICENSES, "# neither", "{from"))]
    assert "neither `discount` nor `amount_off`" in diags[0]["message"]
    assert diags[0]["hint"]


def test_every_bad_tier_is_a_finding_not_only_the_first(example_repo, cli) -> None:
    edit(
        example_repo,
        LICENSES,
        SEAT_TIER_51,
        "      - {from: 51, discount: 20%, amount_off: {PLN: 5.00}}  # both\n      - {from: 80}  # neither\n",
    )
    diags = only(findings(cli, example_repo), "E-SCHEDULE")
    assert sorted(pos(d) for d in diags) == [
        (LICENSES, *at(example_repo, LICENSES, "# both", "{PLN")),
        (LICENSES, *at(example_repo, LICENSES, "# neither", "{from")),
    ]


def test_an_amount_off_above_a_list_price_is_e_tier_amount_per_currency(example_repo, cli) -> None:
    edit(example_repo, LICENSES, SEAT_TIER_51, "      - {from: 51, amount_off: {PLN: 1200.01, EUR: 300.00}}  # big\n")
    diags = only(findings(cli, example_repo), "E-TIER-AMOUNT")
    where = (LICENSES, *at(example_repo, LICENSES, "# big", "{PLN"))
    assert [pos(d) for d in diags] == [where, where]
    by_cur = {d["message"].split(" off ")[0].split()[-1]: d for d in diags}
    assert set(by_cur) == {"PLN", "EUR"}
    assert "takes 1200.01 PLN off `PRO-SEAT`, whose list unit price is 1200.00" in by_cur["PLN"]["message"]
    assert "takes 300.00 EUR off `PRO-SEAT`, whose list unit price is 280.00" in by_cur["EUR"]["message"]
    assert "1200.00 PLN" in by_cur["PLN"]["hint"] and "280.00 EUR" in by_cur["EUR"]["hint"]
    assert all(d["severity"] == "error" for d in diags)


def test_e_tier_amount_names_each_product_on_the_schedule(example_repo, cli) -> None:
    # VIEWER-SEAT (PLN 240.00) moves onto SEAT-VOLUME: 500.00 off is too much for it, not for PRO-SEAT
    edit(example_repo, LICENSES, "discount_schedule: VIEWER-SLAB", "discount_schedule: SEAT-VOLUME")
    edit(example_repo, LICENSES, SEAT_TIER_51, "      - {from: 51, amount_off: {PLN: 500.00}}\n")
    diags = only(findings(cli, example_repo), "E-TIER-AMOUNT")
    assert len(diags) == 1
    assert "`VIEWER-SEAT`, whose list unit price is 240.00" in diags[0]["message"]


def test_overage_on_a_list_priced_product_is_e_product_overage_at_its_overage(example_repo, cli) -> None:
    edit(example_repo, ADDONS, SSO_PRICE, SSO_PRICE.replace("\n", "\n    overage: {PLN: 1.00}  # not a block\n", 1))
    diags = findings(cli, example_repo)
    assert [d["code"] for d in diags] == ["E-PRODUCT-OVERAGE"]
    (d,) = diags
    assert pos(d) == (ADDONS, *at(example_repo, ADDONS, "# not a block", "{PLN"))
    assert "`SSO`" in d["message"] and "pricing: list" in d["message"]
    assert "pricing: block" in d["hint"]


def test_the_findings_read_as_pricing_words_them_in_the_full_format(example_repo, cli) -> None:
    edit(example_repo, LICENSES, SEAT_TIER_51, "      - {from: 51}\n")
    run = cli("check", "--repo", example_repo)
    assert run.code == 1
    line, col = at(example_repo, LICENSES, "{from: 51}", "{from")
    assert f"{LICENSES}:{line}:{col}: error[E-SCHEDULE]" in run.stdout + run.stderr


# --------------------------------------------------------------------------- catalog show


def test_catalog_show_json_gives_an_amount_off_tier_its_amount(example_repo, cli) -> None:
    edit(example_repo, LICENSES, SEAT_TIER_51, "      - {from: 51, amount_off: {PLN: 5.00, EUR: 1.50}}\n")
    run = cli("catalog", "show", "PRO-SEAT", "--repo", example_repo, "--format", "json")
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["discount_schedule"] == {
        "code": "SEAT-VOLUME",
        "type": "range",
        "tiers": [
            {"from": "1", "discount": "0%"},  # a percent tier: its keys as ever
            {"from": "11", "discount": "10%"},
            {"from": "51", "discount": None, "amount_off": {"EUR": "1.50", "PLN": "5.00"}},
        ],
    }
    assert data["overage"] == {}  # a list-priced product: the key is there, empty


def test_catalog_show_table_reads_an_amount_off_tier_as_its_amount(example_repo, cli) -> None:
    edit(example_repo, LICENSES, SEAT_TIER_51, "      - {from: 51, amount_off: {PLN: 5.00}}\n")
    run = cli("catalog", "show", "PRO-SEAT", "--repo", example_repo, env=WIDE)
    assert run.code == 0, run.stderr
    (row,) = [ln for ln in run.stdout.splitlines() if ln.strip().startswith("discount_schedule")]
    assert row.rstrip().endswith(
        "tiers: from: 1, discount: 0%; from: 11, discount: 10%; from: 51, discount: PLN 5.00 off"
    )
    assert "overage" not in run.stdout


def test_catalog_show_keeps_every_json_key_of_a_percent_schedule(example_repo, cli) -> None:
    run = cli("catalog", "show", "PRO-SEAT", "--repo", example_repo, "--format", "json")
    data = json.loads(run.stdout)
    for key in ("code", "name", "family", "type", "per", "pricing", "price", "percent", "of", "min_price", "blocks"):
        assert key in data
    for key in ("discount_schedule", "requires", "excludes", "options", "evergreen"):
        assert key in data
    assert [t["discount"] for t in data["discount_schedule"]["tiers"]] == ["0%", "10%", "20%"]


def test_catalog_show_gives_a_block_products_overage(example_repo, cli) -> None:
    edit(example_repo, ADDONS, STORAGE_LAST_BLOCK, STORAGE_LAST_BLOCK + "    overage: {PLN: 5.00, EUR: 1.25}\n")
    run = cli("catalog", "show", "STORAGE-PACK", "--repo", example_repo, "--format", "json")
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["overage"] == {"EUR": "1.25", "PLN": "5.00"}
    assert data["blocks"][-1] == {"up_to": "200", "price": {"EUR": "280.00", "PLN": "1200.00"}}

    table = cli("catalog", "show", "STORAGE-PACK", "--repo", example_repo, env=WIDE)
    assert table.code == 0, table.stderr
    (row,) = [ln.split() for ln in table.stdout.splitlines() if ln.strip().startswith("overage")]
    assert row == ["overage", "EUR:", "1.25,", "PLN:", "5.00"]


# --------------------------------------------------------------------------- consequences of loader errors


def test_a_refused_discount_is_not_also_a_tier_giving_neither(example_repo, cli) -> None:
    edit(example_repo, LICENSES, SEAT_TIER_51, "      - {from: 51, discount: 20}  # no %\n")
    diags = findings(cli, example_repo)
    assert [(d["code"], pos(d)) for d in diags] == [
        ("E-PERCENT", (LICENSES, *at(example_repo, LICENSES, "# no %", "20}")))
    ]


def test_a_refused_pricing_is_not_also_an_overage_on_a_list_product(example_repo, cli) -> None:
    edit(example_repo, ADDONS, "    pricing: block\n", "    pricing: blok  # typo\n")
    edit(example_repo, ADDONS, STORAGE_LAST_BLOCK, STORAGE_LAST_BLOCK + "    overage: {PLN: 5.00}\n")
    codes = [d["code"] for d in findings(cli, example_repo)]
    assert codes and "E-PRODUCT-OVERAGE" not in codes


def test_an_error_elsewhere_in_the_file_hides_no_bad_tier(example_repo, cli) -> None:
    edit(example_repo, LICENSES, SEAT_TIER_51, "      - {from: 51}  # neither\n")
    edit(example_repo, LICENSES, "      - {from: 101, discount: 40%}\n", "      - {from: 101, discount: 40}  # no %\n")
    edit(example_repo, ADDONS, SSO_PRICE, SSO_PRICE.replace("\n", "\n    overage: {PLN: 1.00}  # not a block\n", 1))
    edit(example_repo, ADDONS, "    pricing: block\n", "    pricing: blok\n")  # another product's error
    found = {(d["code"], pos(d)) for d in findings(cli, example_repo)}
    assert ("E-SCHEDULE", (LICENSES, *at(example_repo, LICENSES, "# neither", "{from"))) in found
    assert ("E-PERCENT", (LICENSES, *at(example_repo, LICENSES, "# no %", "40}"))) in found
    assert ("E-PRODUCT-OVERAGE", (ADDONS, *at(example_repo, ADDONS, "# not a block", "{PLN"))) in found
