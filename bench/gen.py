"""Synthetic cpqctl data repository for benchmarks and scale tests.

    python bench/gen.py OUT_DIR --accounts N [--seed S]

Writes cpq.toml, a catalog, N accounts with one contract each (3-5 lines,
0-2 amendments: up-sells, cross-sells, now and then a cancellation) and 0-4
issued invoices per contract, in the file formats of SPEC §1. Why a generator
and not a fixture: SPEC §8 promises "10,000 accounts checked and reported in
seconds", and that needs a repo of that size that is valid, varied and the
same on every machine.

Deterministic: one ``random.Random(seed)`` drives everything, in a fixed order
(no set or hash ordering), so a seed always yields a byte-identical tree.
Money is ``Decimal`` rounded half-up at named points (never a float); the
invoice amounts follow SPEC §4 (cumulative rounded value under monthly+daily
proration) closely enough to look real, but the lead's billing engine is the
reference, not this file. Files are written with plain string formatting
(``yaml.dump`` is far slower and would not keep the one-line flow style).

Self-contained on purpose: the data it writes is an independent test of the
loader, not an echo of it. The one exception is an issued invoice's digest
line (``cpqctl.formats.digest``): a hash, not data, and the exact rule the
loader and ``invoice run``'s staged validation check, so it is reused rather
than re-implemented.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from functools import lru_cache
from pathlib import Path

try:
    from cpqctl.formats.digest import digest_of, line_of
except ImportError:  # run from a checkout without cpqctl installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cpqctl.formats.digest import digest_of, line_of

CENT = Decimal("0.01")
ONE_DAY = timedelta(days=1)
BILLED_UNTIL = date(2026, 12, 31)  # invoices are issued up to this date at most
START_FIRST = date(2025, 1, 1)
START_LAST = date(2026, 12, 31)
PAYMENT_DAYS = 14
DEFAULT_TAX = Decimal(23)

PER_MONTHS = {"month": 1, "quarter": 3, "year": 12}
FREQ_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12, "upfront": None}

# ----------------------------------------------------------------- the catalog
# Prices per currency; the catalog file is rendered from these, so the
# contract prices below can never drift from it.
SEAT_PRICE = {"PLN": Decimal("1200.00"), "EUR": Decimal("280.00")}
SEAT_TIERS = ((51, 20), (11, 10), (1, 0))  # (from, discount %), highest first
SSO_PRICE = {"PLN": Decimal("500.00"), "EUR": Decimal("120.00")}
SUPPORT_BASIC_PRICE = {"PLN": Decimal("1500.00"), "EUR": Decimal("350.00")}
SUPPORT_PERCENT = Decimal(20)
SUPPORT_MIN = {"PLN": Decimal("2000.00"), "EUR": Decimal("470.00")}
STORAGE_BLOCKS = (
    (10, {"PLN": Decimal("100.00"), "EUR": Decimal("25.00")}),
    (50, {"PLN": Decimal("400.00"), "EUR": Decimal("95.00")}),
)
ONBOARDING_PRICE = {"PLN": Decimal("5000.00"), "EUR": Decimal("1200.00")}
ADDON_DISCOUNT = Decimal(15)  # the contracted family discount some accounts have

# ----------------------------------------------------------------- name parts
COMPANY_PL = ("Zakład", "Hurtownia", "Pracownia", "Studio", "Grupa", "Fabryka", "Biuro", "Drukarnia")
STEMS_PL = ("Łąka", "Sokół", "Wisła", "Żuraw", "Dąb", "Jantar", "Orzeł", "Świt", "Zorza", "Kłos")
SUFFIX_PL = ("Sp. z o.o.", "S.A.", "sp.k.", "Sp. j.")
COMPANY_EU = ("Nordlicht", "Alpenblick", "Zuiderzee", "Vltava", "Adriatica", "Baltic", "Rheintal", "Dolomiti")
SUFFIX_EU = ("GmbH", "B.V.", "S.r.l.", "s.r.o.", "AG")
CITIES_PL = (
    ("00-916", "Warszawa"),
    ("90-001", "Łódź"),
    ("30-001", "Kraków"),
    ("80-001", "Gdańsk"),
    ("50-001", "Wrocław"),
    ("60-001", "Poznań"),
)
CITIES_EU = (
    ("DE", "Friedrichstraße", "10115 Berlin"),
    ("NL", "Damrak", "1012 Amsterdam"),
    ("IT", "Via Dante", "20121 Milano"),
    ("CZ", "Národní", "110 00 Praha"),
    ("AT", "Kärntner Straße", "1010 Wien"),
)
STREETS = ("ul. Świętokrzyska", "ul. Piotrkowska", "ul. Długa", "ul. Żelazna", "al. Jerozolimskie", "ul. Kwiatowa")
FIRST = ("Anna", "Piotr", "Katarzyna", "Łukasz", "Małgorzata", "Tomasz", "Agnieszka", "Paweł", "Zofia", "Michał")
LAST = ("Nowak", "Wójcik", "Kowalczyk", "Woźniak", "Mazur", "Krawczyk", "Dudek", "Zając")
CANCEL_REASONS = ("budget cut", "moved to a competitor", "company closed", "merged into another account")


# ----------------------------------------------------------------- tax IDs
# cpqctl checks every tax ID's checksum (python-stdnum, docs/tax-ids.md), so the generator writes valid
# ones. The check digits are computed here, not with stdnum: the data stays an independent test of the
# checker. Each ID is made from one random draw (the same draw as before checksums were kept, so a seed
# still yields the same accounts and contracts); a body whose check digit cannot exist is stepped to the
# next number.


def _luhn_sum(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        total += d if i % 2 == 0 else sum(divmod(2 * d, 10))
    return total % 10


def _weighted(body: str, weights) -> int:
    return sum(w * int(d) for w, d in zip(weights, body, strict=True))


def nip(draw: int) -> str:
    """A Polish NIP, PL-prefixed: 9 digits and the check digit, weights 6,5,7,2,3,4,5,6,7 mod 11 (10: redrawn)."""
    body = int(str(draw)[:9])
    while True:
        check = _weighted(f"{body:09d}", (6, 5, 7, 2, 3, 4, 5, 6, 7)) % 11
        if check != 10:
            return f"PL{body:09d}{check}"
        body += 1


def eu_vat_id(country: str, draw: int) -> str:
    """An EU VAT ID of ``country`` (DE, NL, IT, CZ, AT) with a valid check digit, from a 9-digit ``draw``."""
    raw = f"{draw:09d}"
    if country == "DE":  # 8 digits + ISO 7064 MOD 11,10
        product = 10
        for d in raw[:8]:
            product = (2 * ((int(d) + product) % 10 or 10)) % 11
        return f"DE{raw[:8]}{(11 - product) % 10}"
    if country == "NL":  # 8 digits + the BSN check (weights 9..2 mod 11, 10: redrawn) + B01
        body = int(raw[:8])
        while (_weighted(f"{body:08d}", range(9, 1, -1)) % 11) == 10:
            body += 1
        return f"NL{body:08d}{_weighted(f'{body:08d}', range(9, 1, -1)) % 11}B01"
    if country == "IT":  # 7 digits, a province office 001-100, the Luhn check digit
        body = f"{raw[:7]}{int(raw[7:]) % 100 + 1:03d}"
        return f"IT{body}{(10 - _luhn_sum(body + '0')) % 10}"
    if country == "CZ":  # a legal entity: 7 digits (not starting with 9) + weights 8..2 mod 11
        body = ("1" + raw[1:7]) if raw[0] == "9" else raw[:7]
        check = (11 - _weighted(body, range(8, 1, -1))) % 11
        return f"CZ{body}{(check or 1) % 10}"
    if country == "AT":  # U, 7 digits, check (6 - Luhn sum) mod 10
        return f"ATU{raw[:7]}{(6 - _luhn_sum(raw[:7])) % 10}"
    raise ValueError(f"no VAT ID rule for {country}")


def money(x: Decimal) -> str:
    """Exact text with 2 places, never ``-0.00``."""
    q = x.quantize(CENT, rounding=ROUND_HALF_UP)
    return format(abs(q) if q == 0 else q, "f")


def round2(x: Decimal) -> Decimal:
    """The one rounding point: half-up (ties away from zero) to the cent."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def pct(x: Decimal) -> str:
    s = format(x, "f")
    return (s.rstrip("0").rstrip(".") if "." in s else s) + "%"


def add_months(d: date, n: int) -> date:
    """``d`` + n months, the day clamped to the end of a shorter month."""
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    m += 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - ONE_DAY).day
    return date(y, m, min(d.day, last))


@lru_cache(maxsize=65536)  # contracts share period boundaries; this is the hot path
def months_md(a: date, b: date) -> tuple[int, int]:
    """[a, b] inclusive under monthly+daily: (whole months on anniversaries of a, remaining days)."""
    e = b + ONE_DAY
    m = (e.year - a.year) * 12 + e.month - a.month
    anniversary = add_months(a, m)
    if anniversary > e:
        m -= 1
        anniversary = add_months(a, m)
    return m, (e - anniversary).days


class Seg:
    """One ledger segment as written to the contract file, plus what billing needs."""

    __slots__ = ("id", "product", "qty", "unit", "list", "per", "start", "end", "block", "known")

    def __init__(self, id, product, qty, unit, list_, per, start, end, block, known):
        self.id, self.product, self.qty, self.unit, self.list = id, product, qty, unit, list_
        self.per, self.start, self.end, self.block, self.known = per, start, end, block, known

    def yaml(self) -> str:
        parts = [f"product: {self.product}"]
        if self.block:
            parts.append("pricing: block")
        parts.append(f"quantity: {self.qty}")
        if self.list is not None:
            parts.append(f"list_price: {money(self.list)}")
        parts.append(f"unit_price: {money(self.unit)}")
        if self.per:
            parts.append(f"per: {self.per}")
        parts.append(f"start: {self.start}")
        if self.end:
            parts.append(f"end: {self.end}")
        return "{" + ", ".join(parts) + "}"

    def value(self, through: date) -> Decimal:
        """Rounded net total of the segment from its start to ``through`` (SPEC §4's V(t))."""
        if through < self.start:
            return Decimal(0)
        total = self.unit * (1 if self.qty > 0 else -1) if self.block else self.unit * self.qty
        m, days = months_md(self.start, through)
        return round2(total * (m * 365 + days * 12) / (365 * PER_MONTHS[self.per]))


# ----------------------------------------------------------------- files


def cpq_toml(accounts: int, seed: int) -> str:
    return f"""\
# Generated by bench/gen.py --accounts {accounts} --seed {seed} (synthetic benchmark data)
[company]
name = "Benchmark Software Sp. z o.o."
address = "ul. Piotrkowska 104, 90-001 Łódź"
tax_id = "PL7251234561"
locale = "pl_PL"
currency = "PLN"

[pricing]
proration = "monthly+daily"
rounding = "half-up"

[billing]
frequency = "annual"
payment_days = {PAYMENT_DAYS}

[tax]
rate = "{pct(DEFAULT_TAX)}"

[numbering]
quote = "Q-{{year}}-{{seq:05d}}"
contract = "C-{{year}}-{{seq:05d}}"
invoice = "INV-{{year}}-{{seq:05d}}"

[fx]
EUR = "4.30"
"""


def _prices(p: dict) -> str:
    return "{" + ", ".join(f"{c}: {money(v)}" for c, v in p.items()) + "}"


def catalog_yaml() -> str:
    blocks = "".join(f"      - {{up_to: {n}, price: {_prices(p)}}}\n" for n, p in STORAGE_BLOCKS)
    tiers = "".join(f"      - {{from: {f}, discount: {d}%}}\n" for f, d in reversed(SEAT_TIERS))
    return f"""\
# Generated by bench/gen.py (synthetic benchmark data)
products:
  - code: PRO-SEAT
    name: Pro seat
    family: License
    type: subscription
    per: year
    price: {_prices(SEAT_PRICE)}
    discount_schedule: SEAT-VOLUME
  - code: SSO
    name: Single sign-on add-on
    family: Add-on
    type: subscription
    per: month
    price: {_prices(SSO_PRICE)}
    requires: [PRO-SEAT]
  - code: SUPPORT-BASIC
    name: Basic support
    family: Support
    type: subscription
    per: year
    price: {_prices(SUPPORT_BASIC_PRICE)}
    excludes: [SUPPORT-PREMIUM]
  - code: SUPPORT-PREMIUM
    name: Premium support
    family: Support
    type: subscription
    per: year
    pricing: percent-of-total
    percent: {pct(SUPPORT_PERCENT)}
    of: {{family: License}}
    min_price: {_prices(SUPPORT_MIN)}
    excludes: [SUPPORT-BASIC]
  - code: STORAGE-PACK
    name: Storage pack
    type: subscription
    per: month
    pricing: block
    blocks:
{blocks}  - code: ONBOARDING
    name: Onboarding package
    type: one-time
    price: {_prices(ONBOARDING_PRICE)}

discount_schedules:
  - code: SEAT-VOLUME
    type: range
    tiers:
{tiers}"""


class Generator:
    """Writes the repo account by account; IDs count per year across the whole repo."""

    def __init__(self, out: Path, seed: int) -> None:
        self.out = str(out)  # plain strings: pathlib costs more than the write itself here
        self.rng = random.Random(seed)
        self.contract_seq: dict[int, int] = {}
        self.invoice_seq: dict[int, int] = {}
        self.invoices = 0
        self.pending: list[tuple] = []
        self.day_span = (START_LAST - START_FIRST).days

    def _next(self, counter: dict[int, int], year: int) -> int:
        counter[year] = counter.get(year, 0) + 1
        return counter[year]

    def _person(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    # ---------------------------------------------------------- account
    def account(self, i: int) -> None:
        rng = self.rng
        acct = f"acct-{i:05d}"
        eur = rng.random() < 0.25
        currency = "EUR" if eur else "PLN"
        contact = self._person()
        lines = [f"account: {acct}"]
        if eur:
            country, street, city = rng.choice(CITIES_EU)
            lines += [
                f'name: "{rng.choice(COMPANY_EU)} {i:05d} {rng.choice(SUFFIX_EU)}"',
                "currency: EUR",
                f'address: "{street} {rng.randint(1, 200)}, {city}"',
                f"tax_id: {eu_vat_id(country, rng.randint(10**8, 10**9 - 1))}",
                "reverse_charge: true",
            ]
            tax = Decimal(0)
        else:
            code, city = rng.choice(CITIES_PL)
            lines += [
                f'name: "{rng.choice(COMPANY_PL)} {rng.choice(STEMS_PL)} {i:05d} {rng.choice(SUFFIX_PL)}"',
                "currency: PLN",
                f'address: "{rng.choice(STREETS)} {rng.randint(1, 200)}, {code} {city}"',
                f"tax_id: {nip(rng.randint(10**9, 10**10 - 1))}",
            ]
            tax = Decimal(8) if rng.random() < 0.05 else DEFAULT_TAX
            if tax != DEFAULT_TAX or rng.random() < 0.3:
                lines.append(f"tax_rate: {pct(tax)}")
        lines += ["contacts:", f"  - {{name: {contact}, email: billing@{acct}.example, role: billing}}"]
        if rng.random() < 0.15:
            lines.append(f"renewal: {{pricing: uplift, uplift: {rng.choice(('3%', '5%', '7.5%'))}}}")
        addon_discount = rng.random() < 0.1
        if addon_discount:
            lines += ["contracted_prices:", f"  - {{family: Add-on, discount: {pct(ADDON_DISCOUNT)}}}"]
        folder = f"{self.out}/contracts/{acct}"
        os.mkdir(folder)
        _write(f"{folder}/account.yaml", "\n".join(lines) + "\n")
        self.contract(folder, acct, currency, contact, tax, addon_discount)

    # ---------------------------------------------------------- contract
    def contract(self, folder: str, acct: str, cur: str, contact: str, tax: Decimal, addon_discount: bool) -> None:
        rng = self.rng
        start = START_FIRST + timedelta(days=rng.randint(0, self.day_span))
        if rng.random() < 0.6:
            start = start.replace(day=1)
        evergreen = rng.random() < 0.1
        term = rng.choice((12, 12, 24, 36))
        end = None if evergreen else add_months(start, term) - ONE_DAY
        freqs = ("monthly", "quarterly", "quarterly", "semiannual", "annual", "annual")
        freq = rng.choice(freqs if evergreen else freqs + ("upfront",))
        signed = start - timedelta(days=rng.randint(0, 30))
        cid = f"C-{signed.year}-{self._next(self.contract_seq, signed.year):05d}"

        segs: list[Seg] = []

        def add(product, qty, unit, list_, per, block=False, one_time=False):
            segs.append(
                Seg(
                    f"{cid}#{len(segs) + 1}",
                    product,
                    qty,
                    unit,
                    list_,
                    None if one_time else per,
                    start,
                    None if one_time else end,
                    block,
                    signed,
                )
            )

        r = rng.random()
        seats = rng.randint(1, 10) if r < 0.5 else rng.randint(11, 50) if r < 0.85 else rng.randint(51, 200)
        disc = next(d for f, d in SEAT_TIERS if seats >= f)
        seat_unit = round2(SEAT_PRICE[cur] * (100 - disc) / 100)
        add("PRO-SEAT", seats, seat_unit, SEAT_PRICE[cur], "year")
        extras = rng.sample(("SSO", "SUPPORT", "STORAGE-PACK", "ONBOARDING"), rng.randint(2, 4))
        sso_unit = round2(SSO_PRICE[cur] * (100 - ADDON_DISCOUNT) / 100) if addon_discount else SSO_PRICE[cur]
        for code in ("SSO", "SUPPORT", "STORAGE-PACK", "ONBOARDING"):  # catalog order, not sample order
            if code not in extras:
                continue
            if code == "SSO":
                add("SSO", 1, sso_unit, SSO_PRICE[cur], "month")
            elif code == "SUPPORT" and rng.random() < 0.3:
                add("SUPPORT-BASIC", 1, SUPPORT_BASIC_PRICE[cur], SUPPORT_BASIC_PRICE[cur], "year")
            elif code == "SUPPORT":
                p = max(round2(seat_unit * seats * SUPPORT_PERCENT / 100), SUPPORT_MIN[cur])
                add("SUPPORT-PREMIUM", 1, p, p, "year")
            elif code == "STORAGE-PACK":
                self._storage(add, cur)
            else:
                add("ONBOARDING", 1, ONBOARDING_PRICE[cur], None, None, one_time=True)
        base = list(segs)

        text = [f"contract: {cid}", f"account: {acct}", f"currency: {cur}", f"start: {start}"]
        text.append("evergreen: true" if evergreen else f"end: {end}")
        text += [f"billing: {{frequency: {freq}}}", "proration: monthly+daily", "rounding: half-up"]
        if not evergreen and rng.random() < 0.5:
            text.append(
                rng.choice(
                    (
                        "renewal: {term: 12}",
                        "renewal: {pricing: same}",
                        "renewal: {term: 12, pricing: uplift, uplift: 3.5%}",
                    )
                )
            )
        text.append(f"signed: {{by: {contact}, date: {signed}}}")
        text.append("lines:")
        text += [f"  - {s.yaml()}" for s in base]
        cancel = self._amendments(text, segs, cid, cur, start, end, signed, contact, sso_unit)
        _write(f"{folder}/{cid}.yaml", "\n".join(text) + "\n")
        self._invoices(segs, cid, acct, cur, start, end, freq, tax, cancel)

    def _storage(self, add, cur: str) -> None:
        qty = self.rng.randint(1, 50)
        price = next(p for n, p in STORAGE_BLOCKS if qty <= n)[cur]
        add("STORAGE-PACK", qty, price, None, "month", block=True)

    def _amendments(self, text, segs, cid, cur, start, end, signed, contact, sso_unit) -> date | None:
        """Append 0-2 amendments to ``text``/``segs``; returns the cancellation date, if any."""
        rng = self.rng
        n = rng.choices((0, 1, 2), (50, 35, 15))[0]
        lo = start + timedelta(days=30)
        hi = (end if end else start + timedelta(days=720)) - timedelta(days=30)
        if n == 0 or hi <= lo:
            return None
        span = (hi - lo).days
        effs = sorted(lo + timedelta(days=d) for d in rng.sample(range(span + 1), min(n, span + 1)))
        text.append("amendments:")
        prev, cancel = signed, None
        for k, eff in enumerate(effs, 1):
            aid = f"A-{k}"
            if (eff + ONE_DAY).day == start.day:
                # not on a billing period's last day: the period rule (issue 15) gives such a one-day first
                # period the segment's rounding residual too, so `invoice run` issues a catch-up equal to the
                # generated one-day line, which the double-billing check takes for a copy (E-DOUBLE-BILLED)
                eff += ONE_DAY
            known = max(eff - timedelta(days=rng.randint(0, 14)), prev)
            prev = eff
            owned = [s.product for s in segs]
            new: list[Seg] = []

            def add(product, qty, unit, list_, per, block=False, one_time=False):
                new.append(Seg(f"{cid}/{aid}#{len(new) + 1}", product, qty, unit, list_, per, eff, end, block, known))

            last = k == len(effs)
            cross = [p for p in ("SSO", "STORAGE-PACK") if p not in owned]
            if "SUPPORT-PREMIUM" not in owned and "SUPPORT-BASIC" not in owned:
                cross.append("SUPPORT-BASIC")
            if last and rng.random() < 0.1:
                cancel = eff
                for s in segs:
                    if s.per and s.start <= eff and (s.end is None or eff <= s.end):
                        add(s.product, -s.qty, s.unit, s.list, s.per, s.block)
            elif cross and rng.random() < 0.4:
                product = rng.choice(cross)
                if product == "SSO":
                    add("SSO", 1, sso_unit, SSO_PRICE[cur], "month")
                elif product == "SUPPORT-BASIC":
                    add("SUPPORT-BASIC", 1, SUPPORT_BASIC_PRICE[cur], SUPPORT_BASIC_PRICE[cur], "year")
                else:
                    self._storage(add, cur)
            else:  # up-sell at the price of the newest seat segment (SPEC §3: no re-pricing)
                seat = [s for s in segs if s.product == "PRO-SEAT"][-1]
                add("PRO-SEAT", rng.randint(1, 20), seat.unit, seat.list, "year")
            text += [f"  - amendment: {aid}", f"    effective: {eff}", f"    signed: {{by: {contact}, date: {known}}}"]
            if cancel:
                text.append(f'    cancelled: {{date: {eff}, reason: "{rng.choice(CANCEL_REASONS)}"}}')
            text.append("    lines:")
            text += [f"      - {s.yaml()}" for s in new]
            segs.extend(new)
        return cancel

    # ---------------------------------------------------------- invoices
    def _invoices(self, segs, cid, acct, cur, start, end, freq, tax, cancel) -> None:
        """Issue the first 0-4 invoices an ``invoice run`` would (SPEC §4), in date order."""
        rng = self.rng
        wanted = rng.randint(0, 4)
        if wanted == 0:
            return
        f = FREQ_MONTHS[freq]
        periods = []
        for k in range(1 if f is None else wanted + 1):
            ps = start if f is None else add_months(start, k * f)
            if ps > BILLED_UNTIL or (end and ps > end) or (cancel and ps >= cancel):
                break
            pe = end if f is None else add_months(start, (k + 1) * f) - ONE_DAY
            periods.append((ps, min(pe, end) if end else pe))
        if not periods:
            return
        dates = sorted(
            {ps for ps, _ in periods}
            | {max(s.known, s.start) for s in segs if s.start > start and s.start <= periods[-1][1]}
        )
        billed: dict[tuple[str, int], Decimal] = {}
        issued = 0
        for d in dates:
            if d > BILLED_UNTIL or issued == wanted:
                break
            lines = []
            for k, (ps, pe) in enumerate(periods):
                if ps > d:
                    break
                for s in segs:
                    if s.known > d or (s.id, k) in billed:  # a segment's share of a period is fixed
                        continue
                    if s.per is None:
                        if ps <= s.start <= pe:
                            amount = s.unit * s.qty
                            billed[(s.id, k)] = amount
                            lines.append((s, "one-time", s.start, s.start, amount))
                        continue
                    a, b = max(ps, s.start), min(pe, s.end) if s.end else pe
                    if a > b:
                        continue
                    amount = billed[(s.id, k)] = s.value(b) - s.value(a - ONE_DAY)
                    if not amount:
                        continue
                    kind = "credit" if amount < 0 else "recurring" if d == ps and a == ps and b == pe else "proration"
                    lines.append((s, kind, a, b, amount))
            if lines:
                self._invoice(d, lines, cid, acct, cur, tax)
                issued += 1

    def _invoice(self, d: date, lines, cid, acct, cur, tax: Decimal) -> None:
        """Queue an invoice: numbers are given in date order once every contract is generated (a series is
        numbered in issue order, as `invoice run` numbers it and as `check` expects: W-INVOICE-ORDER)."""
        self.pending.append((d, cid, len(self.pending), lines, acct, cur, tax))

    def write_invoices(self) -> None:
        for d, cid, _, lines, acct, cur, tax in sorted(self.pending, key=lambda p: p[:3]):
            self._write_invoice(d, lines, cid, acct, cur, tax)
        self.pending = []

    def _write_invoice(self, d: date, lines, cid, acct, cur, tax: Decimal) -> None:
        iid = f"INV-{d.year}-{self._next(self.invoice_seq, d.year):05d}"
        net = sum((amount for *_, amount in lines), Decimal(0))
        vat = round2(net * tax / 100)
        text = [
            f"invoice: {iid}",
            f"account: {acct}",
            f"contract: {cid}",
            f"date: {d}",
            f"sale_date: {min(a for _, _, a, _, _ in lines)}",
            f"due: {d + timedelta(days=PAYMENT_DAYS)}",
            f"currency: {cur}",
        ]
        if not tax:
            text.append("reverse_charge: true")
        text.append("lines:")
        for s, kind, a, b, amount in lines:
            text.append(
                f"  - {{segment: {s.id}, product: {s.product}, kind: {kind}, period_start: {a}, "
                f"period_end: {b}, quantity: {s.qty}, amount: {money(amount)}}}"
            )
        text += [
            f"net_total: {money(net)}",
            f"taxes: [{{rate: {pct(tax)}, base: {money(net)}, amount: {money(vat)}}}]",
            f"gross_total: {money(net + vat)}",
        ]
        body = "\n".join(text) + "\n"
        # issued invoices carry cpqctl's digest line (the loader and a run's staged validation check it)
        _write(f"{self.out}/invoices/{iid}.yaml", body + line_of(digest_of(body)))
        self.invoices += 1


def _write(path: Path | str, text: str) -> None:
    """Raw os.open/os.write: no text-wrapper objects per file, which adds up over ~100k small files."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def generate(out: Path, accounts: int, seed: int = 1) -> dict[str, int]:
    """Write the repo into ``out`` (must be empty or absent); returns counts of what was written."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    for sub in ("catalog", "contracts", "invoices"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    _write(out / "cpq.toml", cpq_toml(accounts, seed))
    _write(out / ".gitignore", ".cpq/\n")
    _write(out / "catalog" / "products.yaml", catalog_yaml())
    gen = Generator(out, seed)
    # An explicit context: the generator never depends on the ambient one.
    with localcontext(Context(prec=40, rounding=ROUND_HALF_UP)):
        for i in range(1, accounts + 1):
            gen.account(i)
        gen.write_invoices()
    return {"accounts": accounts, "contracts": accounts, "invoices": gen.invoices}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a synthetic cpqctl data repository (benchmarks).")
    ap.add_argument("out_dir", type=Path, help="folder to create (must be empty or absent)")
    ap.add_argument("--accounts", type=int, required=True, help="number of accounts (one contract each)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (same seed: byte-identical tree)")
    args = ap.parse_args(argv)
    if args.accounts < 0:
        ap.error("--accounts must be 0 or more")
    t0 = time.perf_counter()
    try:
        counts = generate(args.out_dir, args.accounts, args.seed)
    except FileExistsError as exc:
        print(f"gen.py: {exc}", file=sys.stderr)
        return 2
    secs = time.perf_counter() - t0
    print(
        f"{counts['accounts']} accounts, {counts['contracts']} contracts, {counts['invoices']} invoices "
        f"in {secs:.2f} s -> {args.out_dir}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
