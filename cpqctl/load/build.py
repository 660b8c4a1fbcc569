"""Converted file values (:class:`~cpqctl.load.schema.Obj`) → frozen domain records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from cpqctl.core.model import (
    EMPTY,
    Account,
    Allocation,
    Amendment,
    Approval,
    Block,
    BundleOption,
    Cancellation,
    Catalog,
    ClosedPeriod,
    Contact,
    Contract,
    ContractedPrice,
    Delivery,
    DiscountSchedule,
    FxRate,
    FxTable,
    IndexUplift,
    IndexValue,
    Invoice,
    InvoiceFx,
    InvoiceLine,
    InvoiceParty,
    KsefRecord,
    Payment,
    Presented,
    PresentedLine,
    PriceIndex,
    Product,
    Quote,
    QuoteLine,
    Reminder,
    RenewalTerms,
    Renumbering,
    Segment,
    Settings,
    Signed,
    Source,
    TaxLine,
    Tier,
)
from cpqctl.load.positions import lazy
from cpqctl.load.schema import Obj


def _src(file: str, o: Obj, key: str | None = None) -> Source:
    line, col = o.where(key) if key else o.pos
    return Source(file, line, col)


def _at(file: str, o: Obj):
    return lazy(file, o.at)  # built on first read: see cpqctl.load.positions


def _prices(o) -> Mapping:
    return MappingProxyType(dict(sorted(o.items()))) if o else EMPTY


def _signed(o) -> Signed | None:
    if not o or "by" not in o or "date" not in o:
        return None
    return Signed(o["by"], o["date"], o.get("method"), o.get("at"), o.get("document"))


def _approval(o) -> Approval | None:
    if not o or "by" not in o or "date" not in o:
        return None
    return Approval(o["by"], o["date"], o.get("digest"))


def _renumbered(items) -> tuple[Renumbering, ...]:
    return tuple(
        Renumbering(r["from"], r["to"], r["date"], r.get("reason", ""), r.get("field"))
        for r in items or ()
        if isinstance(r, dict) and {"from", "to", "date"} <= r.keys()
    )


def _presented(items) -> tuple[Presented, ...]:
    return tuple(
        Presented(
            date=p["date"],
            format=p.get("format", ""),
            digest=p.get("digest", ""),
            net_total=p.get("net_total"),
            gross_total=p.get("gross_total"),
            lines=tuple(
                PresentedLine(x["product"], x["quantity"], x.get("unit_price"), x.get("net_total"))
                for x in p.get("lines") or ()
                if isinstance(x, dict) and "product" in x and "quantity" in x
            ),
        )
        for p in items or ()
        if isinstance(p, dict) and "date" in p
    )


def _renewal(o, file: str = "") -> RenewalTerms:
    o = o or {}
    up = o.get("uplift")
    return RenewalTerms(
        o.get("term"),
        o.get("pricing"),
        up if isinstance(up, Decimal) else None,
        _index_uplift(up, file),
        o.get("uplift_basis"),
    )


def _index_uplift(o, file: str) -> IndexUplift | None:
    """``uplift: {index: cpi-pl, plus: 5%, floor: 8%, cap: 12%}`` (a plain percentage: None)."""
    if not isinstance(o, Obj) or "index" not in o:
        return None
    return IndexUplift(o["index"], o.get("plus", ZERO), o.get("floor"), o.get("cap"), _src(file, o))


def index(o: Obj, file: str) -> PriceIndex:
    """A price index file (indices/<index>.yaml): its values oldest period first, each with its publication day."""
    from cpqctl.core.renewal import period_end

    out = []
    for period, v in sorted(o["values"].items() if "values" in o else ()):
        value, published = (v["value"], v.get("published")) if isinstance(v, Obj) else (v, None)
        if published is None:
            published = period_end(period) + timedelta(days=1)
        out.append(IndexValue(period, value, published, Source(file, *o["values"].at[period])))
    where = Source(file, *o.where("values")) if "values" in o else _src(file, o)
    return PriceIndex(o["index"], o.get("name", ""), tuple(out), where)


def fx(o: Obj, file: str) -> FxTable:
    """An fx table (fx/<CUR>.yaml): its rates oldest day first, each with its table number (docs/fx.md)."""
    rates: Any = o.get("rates") or Obj()  # an Obj: day → entry, `at[day]` the day's position
    out = [
        FxRate(day, e["rate"], e.get("table") or "", Source(file, *rates.at[day])) for day, e in sorted(rates.items())
    ]
    where = Source(file, *o.where("rates")) if "rates" in o else _src(file, o)
    return FxTable(o["currency"], o.get("source", ""), tuple(out), where)


def settings(o: Obj | None, file: str = "cpq.toml") -> Settings:
    if o is None:
        return Settings(src=Source(file))
    c, p, b, r = o.get("company", {}), o.get("pricing", {}), o.get("billing", {}), o.get("renewal", {})
    up = r.get("uplift")
    n, m = o.get("numbering", {}), o.get("metrics", {})
    d = Settings()
    return Settings(
        company_name=c.get("name", ""),
        company_address=c.get("address", ""),
        company_tax_id=c.get("tax_id", ""),
        company_bank_account=c.get("bank_account", ""),
        company_bank_accounts=MappingProxyType(dict(c.get("bank_accounts") or {})),
        company_country=c.get("country", ""),
        language=c.get("language", ""),
        locale=c.get("locale", d.locale),
        currency=c.get("currency", d.currency),
        proration=p.get("proration", d.proration),
        rounding=p.get("rounding", d.rounding),
        quote_valid_days=p.get("quote_valid_days", d.quote_valid_days),
        billing_frequency=b.get("frequency", d.billing_frequency),
        billing_anchor=b.get("anchor", d.billing_anchor),
        billing_partial=b.get("partial", d.billing_partial),
        payment_days=b.get("payment_days", d.payment_days),
        renewal_pricing=r.get("pricing", d.renewal_pricing),
        renewal_uplift=up if isinstance(up, Decimal) else d.renewal_uplift,
        renewal_uplift_index=_index_uplift(up, file),
        renewal_uplift_basis=r.get("uplift_basis", d.renewal_uplift_basis),
        notice_days=r.get("notice_days", d.notice_days),
        max_discount=o.get("approvals", {}).get("max_discount", d.max_discount),
        tax_rate=o.get("tax", {}).get("rate", d.tax_rate),
        tax_rounding=o.get("tax", {}).get("rounding", d.tax_rounding),
        numbering_quote=n.get("quote", d.numbering_quote),
        numbering_contract=n.get("contract", d.numbering_contract),
        numbering_invoice=n.get("invoice", d.numbering_invoice),
        numbering_correction=n.get("correction", d.numbering_correction),
        numbering_payment=n.get("payment", d.numbering_payment),
        invoice_sale_date=o.get("invoice", {}).get("sale_date", d.invoice_sale_date),
        git_default_branch=o.get("git", {}).get("default_branch"),
        git_invoicing=o.get("git", {}).get("invoicing", d.git_invoicing),
        smtp=MappingProxyType(dict(o.get("smtp", {}))),
        # the lists (seats, addons) as one comma-separated text: the parse cache keeps flat values only
        portal=MappingProxyType({k: ",".join(v) if isinstance(v, list) else v for k, v in o.get("portal", {}).items()}),
        hooks=MappingProxyType(dict(o.get("hooks", {}))),
        ksef=MappingProxyType(dict(o.get("ksef", {}))),
        dunning=MappingProxyType(dict(o.get("dunning", {}))),
        ledger_accounts=MappingProxyType(dict(o.get("accounts", {}))),
        fx=_prices(o.get("fx")),
        cac=m.get("cac"),
        gross_margin=m.get("gross_margin", d.gross_margin),
        free_accounts=m.get("free_accounts", d.free_accounts),
        src=Source(file),
    )


def products(o: Obj, file: str) -> list[Product]:
    out = []
    for p in o.get("products", []):
        if "code" not in p or "name" not in p:
            continue
        of = p.get("of") or {}
        opts = p.get("options") or []
        out.append(
            Product(
                code=p["code"],
                name=p["name"],
                type=p.get("type", "subscription"),
                per=p.get("per"),
                price=_prices(p.get("price")),
                family=p.get("family", ""),
                description=p.get("description", ""),
                unit=p.get("unit", ""),
                pricing=p.get("pricing", "list"),
                timing=p.get("timing", "advance"),
                percent=p.get("percent"),
                of_family=of.get("family"),
                of_products=tuple(of.get("products", ())),
                min_price=_prices(p.get("min_price")),
                blocks=tuple(
                    Block(b["up_to"], _prices(b["price"])) for b in p.get("blocks", []) if "up_to" in b and "price" in b
                ),
                overage=_prices(p.get("overage")),
                discount_schedule=p.get("discount_schedule"),
                requires=tuple(p.get("requires", ())),
                excludes=tuple(p.get("excludes", ())),
                options=tuple(
                    BundleOption(
                        x["product"],
                        x.get("min"),
                        x.get("max"),
                        x.get("required", False),
                        x.get("included", False),
                        Source(file, *opts.at[i]),
                    )
                    for i, x in enumerate(opts)
                    if "product" in x
                ),
                evergreen=p.get("evergreen", False),
                revenue=p.get("revenue", ""),
                ssp=_prices(p.get("ssp")),
                src=_src(file, p),
                at=_at(file, p),
            )
        )
    return out


def schedules(o: Obj, file: str) -> list[DiscountSchedule]:
    out = []
    for s in o.get("discount_schedules", []):
        if not {"code", "type", "tiers"} <= s.keys():
            continue
        # a tier gives `discount` or `amount_off`; one with both or neither is refused when priced (E-SCHEDULE)
        rows = s["tiers"]
        tiers = tuple(
            sorted(
                (
                    Tier(
                        t["from"],
                        t.get("discount", ZERO),
                        _prices(t.get("amount_off")),
                        Source(file, *rows.at[i]),
                        _at(file, t),
                    )
                    for i, t in enumerate(rows)
                    if "from" in t
                ),
                key=lambda t: t.start,
            )
        )
        out.append(DiscountSchedule(s["code"], s["type"], tiers, _src(file, s)))
    return out


def account(o: Obj, file: str) -> Account:
    cps = o.get("contracted_prices", [])
    return Account(
        account=o["account"],
        name=o["name"],
        currency=o["currency"],
        address=o.get("address", ""),
        tax_id=o.get("tax_id", ""),
        tax_rate=o.get("tax_rate"),
        reverse_charge=o.get("reverse_charge", False),
        contacts=tuple(
            Contact(c["name"], c.get("email", ""), c.get("role", "")) for c in o.get("contacts", []) if "name" in c
        ),
        renewal=_renewal(o.get("renewal"), file),
        billing_anchor=(o.get("billing") or {}).get("anchor"),
        country=o.get("country", ""),
        language=o.get("language", ""),
        payment_days=(o.get("billing") or {}).get("payment_days"),
        tax_code=o.get("tax_code", ""),
        tax_note=o.get("tax_note", ""),
        einvoice=o.get("einvoice", ""),
        peppol_id=o.get("peppol_id", ""),
        contracted_prices=tuple(
            ContractedPrice(
                c.get("product"),
                c.get("family"),
                c.get("price"),
                c.get("discount"),
                c.get("from"),
                c.get("until"),
                Source(file, *cps.at[i]),
            )
            for i, c in enumerate(cps)
        ),
        src=_src(file, o),
        at=_at(file, o),
    )


def segment(o: Obj, file: str, seg_id: str, default_end) -> Segment:
    per = o.get("per")
    end = o.get("end", default_end if per else None)
    return Segment(
        id=seg_id,
        product=o["product"],
        quantity=o["quantity"],
        unit_price=o["unit_price"],
        start=o["start"],
        end=end,
        per=per,
        list_price=o.get("list_price"),
        pricing=o.get("pricing", "list"),
        bundle=o.get("bundle"),
        src=_src(file, o),
        at=_at(file, o),
        timing=o.get("timing", "advance"),
    )


_SEG_KEYS = frozenset({"product", "quantity", "unit_price", "start"})


def contract(o: Obj, file: str) -> Contract:
    cid = o["contract"]
    end = o.get("end")
    lines = tuple(
        segment(x, file, f"{cid}#{i + 1}", end) for i, x in enumerate(o.get("lines", [])) if x.keys() >= _SEG_KEYS
    )
    amendments = []
    cur_end = end
    for a in o.get("amendments", []):
        if not {"amendment", "effective"} <= a.keys():
            continue
        cur_end = a.get("end", cur_end)
        canc = a.get("cancelled")
        amendments.append(
            Amendment(
                amendment=a["amendment"],
                effective=a["effective"],
                lines=tuple(
                    segment(x, file, f"{cid}/{a.get('quote') or a['amendment']}#{i + 1}", cur_end)
                    for i, x in enumerate(a.get("lines", []))
                    if x.keys() >= _SEG_KEYS
                ),
                quote=a.get("quote"),
                signed=_signed(a.get("signed")),
                end=a.get("end"),
                cancelled=Cancellation(canc["date"], canc.get("reason", "")) if canc and "date" in canc else None,
                quote_digest=a.get("quote_digest"),
                src=_src(file, a),
                at=_at(file, a),
                billing_frequency=(a.get("billing") or {}).get("frequency"),
                billing_restart=(a.get("billing") or {}).get("restart", False),
            )
        )
    return Contract(
        contract=cid,
        account=o["account"],
        currency=o["currency"],
        start=o["start"],
        end=end,
        lines=lines,
        amendments=tuple(amendments),
        evergreen=o.get("evergreen", False),
        billing_frequency=(o.get("billing") or {}).get("frequency"),
        billing_anchor=(o.get("billing") or {}).get("anchor"),
        billing_partial=(o.get("billing") or {}).get("partial"),
        proration=o.get("proration"),
        rounding=o.get("rounding"),
        renewal=_renewal(o.get("renewal"), file),
        quote=o.get("quote"),
        signed=_signed(o.get("signed")),
        renews=o.get("renews"),
        billed_through=o.get("billed_through"),
        quote_digest=o.get("quote_digest"),
        renumbered=_renumbered(o.get("renumbered")),
        src=_src(file, o),
        at=_at(file, o),
    )


def quote(o: Obj, file: str) -> Quote:
    canc = o.get("cancelled")
    return Quote(
        quote=o["quote"],
        account=o["account"],
        date=o["date"],
        kind=o.get("kind", "new"),
        status=o.get("status", "draft"),
        contract=o.get("contract"),
        currency=o.get("currency"),
        start=o.get("start"),
        term=o.get("term"),
        end=o.get("end"),
        evergreen=o.get("evergreen", False),
        billing_frequency=(o.get("billing") or {}).get("frequency"),
        billing_anchor=(o.get("billing") or {}).get("anchor"),
        billing_partial=(o.get("billing") or {}).get("partial"),
        billing_restart=(o.get("billing") or {}).get("restart", False),
        effective=o.get("effective"),
        based_on=o.get("based_on"),
        rebases=o.get("rebases"),
        cancelled=Cancellation(canc["date"], canc.get("reason", "")) if canc and "date" in canc else None,
        renewal=_renewal(o.get("renewal"), file),
        approved=_approval(o.get("approved")),
        signed=_signed(o.get("signed")),
        net_total=o.get("net_total"),
        tax_total=o.get("tax_total"),
        gross_total=o.get("gross_total"),
        digest=o.get("digest"),
        presented=_presented(o.get("presented")),
        renumbered=_renumbered(o.get("renumbered")),
        lines=tuple(
            QuoteLine(
                product=x["product"],
                quantity=x["quantity"],
                discount=x.get("discount"),
                discount_amount=x.get("discount_amount"),
                list_price=x.get("list_price"),
                unit_price=x.get("unit_price"),
                per=x.get("per"),
                start=x.get("start"),
                end=x.get("end"),
                pricing=x.get("pricing"),
                timing=x.get("timing"),
                bundle=x.get("bundle"),
                net_total=x.get("net_total"),
                src=_src(file, x),
                at=_at(file, x),
            )
            for x in o.get("lines", [])
            if {"product", "quantity"} <= x.keys()
        ),
        src=_src(file, o),
        at=_at(file, o),
    )


def _party(o) -> InvoiceParty | None:
    if not o or "name" not in o:
        return None
    return InvoiceParty(
        o["name"], o.get("address", ""), o.get("tax_id", ""), o.get("country", ""), o.get("bank_account", "")
    )


def _ksef(o) -> KsefRecord | None:
    if not o or "number" not in o:
        return None
    return KsefRecord(
        o["number"],
        o.get("accepted", ""),
        o.get("reference", ""),
        o.get("session", ""),
        o.get("environment", ""),
        o.get("sha256", ""),
    )


def invoice(o: Obj, file: str) -> Invoice:
    return Invoice(
        invoice=o["invoice"],
        account=o["account"],
        contract=o["contract"],
        date=o["date"],
        currency=o["currency"],
        lines=tuple(
            InvoiceLine(
                x["segment"],
                x["product"],
                x["kind"],
                x["amount"],
                x.get("period_start"),
                x.get("period_end"),
                x.get("quantity"),
                x.get("name", ""),
                x.get("unit", ""),
                x.get("unit_price"),
                x.get("per"),
                x.get("factor"),
                x.get("description", ""),
                x.get("line"),
                x.get("before"),
                x.get("after"),
                x.get("units"),
            )
            for x in o.get("lines", [])
            if {"segment", "product", "kind", "amount"} <= x.keys()
        ),
        net_total=o["net_total"],
        gross_total=o["gross_total"],
        taxes=tuple(
            TaxLine(t["rate"], t["base"], t["amount"], t.get("amount_pln"))
            for t in o.get("taxes", [])
            if {"rate", "base", "amount"} <= t.keys()
        ),
        sale_date=o.get("sale_date"),
        due=o.get("due"),
        corrects=o.get("corrects"),
        corrects_date=o.get("corrects_date"),
        reason=o.get("reason", ""),
        reverse_charge=o.get("reverse_charge", False),
        kind=o.get("kind", "invoice"),
        period_start=o.get("period_start"),
        period_end=o.get("period_end"),
        language=o.get("language", ""),
        tax_code=o.get("tax_code", ""),
        tax_note=o.get("tax_note", ""),
        seller=_party(o.get("seller")),
        buyer=_party(o.get("buyer")),
        kept=MappingProxyType(dict(o["document"])) if o.get("document") else EMPTY,
        fx=InvoiceFx(o["fx"]["rate"], o["fx"].get("table", ""), o["fx"].get("date")) if o.get("fx") else None,
        sent=tuple(Delivery(s.get("date"), s.get("to", ""), s.get("message_id", "")) for s in o.get("sent", [])),
        reminders=tuple(
            Reminder(r["level"], r.get("date"), r.get("to", ""), r.get("message_id", ""))
            for r in o.get("reminders", [])
            if "level" in r
        ),
        ksef=_ksef(o.get("ksef")),
        digest=o.get("digest"),
        src=_src(file, o),
        at=_at(file, o),
    )


def payment(o: Obj, file: str) -> Payment:
    allocations = tuple(
        Allocation(x["invoice"], x["amount"], _src(file, x))
        for x in o.get("allocations", [])
        if "invoice" in x and "amount" in x
    )
    return Payment(
        payment=o["payment"],
        date=o["date"],
        amount=o["amount"],
        currency=o["currency"],
        kind=o.get("kind", "payment"),
        account=o.get("account", ""),
        payer=o.get("payer", ""),
        payer_iban=o.get("payer_iban", ""),
        reference=o.get("reference", ""),
        bank_ref=o.get("bank_ref", ""),
        imported=o.get("imported", ""),
        note=o.get("note", ""),
        allocations=allocations,
        src=_src(file, o),
        at=_at(file, o),
    )


def period(o: Obj, file: str) -> ClosedPeriod:
    return ClosedPeriod(
        period=o["period"],
        closed=o["closed"],
        journal=o["journal"],
        entries=tuple(o.get("entries", ())),
        by=o.get("by", ""),
        src=_src(file, o),
        at=_at(file, o),
    )


def catalog(prods: list[Product], scheds: list[DiscountSchedule]) -> Catalog:
    return Catalog(MappingProxyType({p.code: p for p in prods}), MappingProxyType({s.code: s for s in scheds}))


ZERO = Decimal(0)
