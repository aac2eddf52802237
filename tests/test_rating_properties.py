"""Property tests for the money arithmetic: rounding and rating.

The oracle (simulator/oracle.py), the reference connector (reference_impl/rating.py)
and the ERP (mocks/erp/money.py) each carry their own rounding and rating code on
purpose. These tests check that the independent implementations agree with each
other and with a third, brute-force or integer-only computation written here.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mocks.clm.models import RateCardEntry
from mocks.core.clock import FixedClock
from mocks.erp import ErpBackend
from mocks.erp.money import MINOR_UNITS, tax_on
from reference_impl.rating import Unrateable, price, rate_for
from simulator.firm.sales import _minor
from simulator.scenario import CURRENCY_MINOR_UNITS
from simulator.valuation import half_up, labour_amount, rate_on

# database=None: no .hypothesis/ directory is written outside tests/.
PROPERTY = settings(max_examples=200, deadline=None, database=None)

ISO_MINOR_UNITS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}


def integer_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in integers only."""
    assert denominator > 0
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


def decimal_half_up(value: Fraction) -> int:
    """value rounded by Decimal's ROUND_HALF_UP (which rounds ties away from zero).

    The division is truncated toward zero, never rounded: truncation cannot turn a
    fraction below one half into a tie, and one above stays at or above it, so the
    half-up result is exact even when the fraction has no finite decimal expansion.
    """
    with localcontext() as ctx:
        ctx.prec = 80
        ctx.rounding = ROUND_DOWN
        quotient = Decimal(value.numerator) / Decimal(value.denominator)
        return int(quotient.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# -- oracle.half_up ----------------------------------------------------------------------------

ties = st.integers(min_value=-10**12, max_value=10**12).map(lambda k: Fraction(2 * k + 1, 2))
fractions = st.fractions(min_value=-10**12, max_value=10**12, max_denominator=10**6)


@PROPERTY
@given(st.one_of(fractions, ties))
@example(Fraction(1, 2))
@example(Fraction(-1, 2))
@example(Fraction(5, 2))
@example(Fraction(-5, 2))
@example(Fraction(0))
@example(Fraction(-3, 4))
@example(Fraction(49999, 100000))
def test_half_up_matches_decimal_round_half_up(value: Fraction) -> None:
    assert half_up(value) == decimal_half_up(value)
    assert half_up(value) == integer_half_up(value.numerator, value.denominator)


@PROPERTY
@given(ties)
def test_half_up_rounds_ties_away_from_zero(value: Fraction) -> None:
    rounded = half_up(value)
    assert abs(rounded) == abs(value) + Fraction(1, 2)
    assert half_up(-value) == -rounded


def test_half_up_examples() -> None:
    assert [half_up(Fraction(n, 2)) for n in range(-5, 6)] == [-3, -2, -2, -1, -1, 0, 1, 1, 2, 2, 3]


# -- labour: price (connector) vs labour_amount (oracle) ----------------------------------------

quarters = st.integers(min_value=1, max_value=96)  # 0.25 h .. 24 h
rates = st.integers(min_value=0, max_value=10**7)  # minor units per hour


def hours_of(q: int) -> Decimal:
    return Decimal(q) * Decimal("0.25")


@PROPERTY
@given(quarters, rates)
@example(2, 5)  # 0.5 h x 5 = 2.5: a tie
@example(1, 2)  # 0.25 h x 2 = 0.5
@example(3, 10**7)
@example(96, 10**7)
def test_price_and_labour_amount_agree(q: int, rate: int) -> None:
    hours = hours_of(q)
    expected = integer_half_up(q * rate, 4)
    assert price(hours, rate) == expected
    assert labour_amount(hours, rate) == expected


@PROPERTY
@given(quarters, rates)
@example(2, 5)
@example(2, 3)
def test_half_up_differs_from_half_even_exactly_on_ties(q: int, rate: int) -> None:
    hours = hours_of(q)
    half_even = int((hours * rate).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    tie = (q * rate) % 4 == 2  # q*rate/4 has fractional part exactly one half
    for amount in (price(hours, rate), labour_amount(hours, rate)):
        if not tie:
            assert amount == half_even
        else:
            floor = (q * rate) // 4
            assert amount == floor + 1
            # half-even keeps the even neighbour, so the two differ iff the floor is even
            assert (amount != half_even) == (floor % 2 == 0)


def test_tie_where_half_even_rounds_differently() -> None:
    hours, rate = Decimal("0.5"), 5  # 2.5 minor units
    assert int((hours * rate).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)) == 2
    assert price(hours, rate) == 3
    assert labour_amount(hours, rate) == 3
    hours, rate = Decimal("0.25"), 10  # 2.5 again, from a quarter hour
    assert price(hours, rate) == labour_amount(hours, rate) == 3


@pytest.mark.parametrize("hours", [Decimal("0.1"), Decimal("0.3"), Decimal("1.33")])
def test_labour_amount_rejects_non_quarter_hours(hours: Decimal) -> None:
    with pytest.raises(ValueError, match="quarter hours"):
        labour_amount(hours, 100)


# -- major units -> minor units across currencies ----------------------------------------------


def test_minor_unit_tables_match_iso_4217() -> None:
    for currency, digits in ISO_MINOR_UNITS.items():
        assert MINOR_UNITS[currency] == digits
        assert CURRENCY_MINOR_UNITS[currency] == digits


# amounts in ten-thousandths of a major unit, biased toward ties for 2-digit and 0-digit currencies
ten_thousandths = st.one_of(
    st.integers(min_value=-10**13, max_value=10**13),
    st.integers(min_value=-10**11, max_value=10**11).map(lambda k: 100 * k + 50),  # x.xx50
    st.integers(min_value=-10**9, max_value=10**9).map(lambda k: 10_000 * k + 5_000),  # x.5000
)


def to_minor(amount: Decimal, currency: str) -> int:
    return int((amount * 10 ** ISO_MINOR_UNITS[currency]).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@PROPERTY
@given(st.sampled_from(sorted(ISO_MINOR_UNITS)), ten_thousandths)
@example("USD", 50)  # 0.0050 USD -> 1 cent
@example("USD", -50)
@example("JPY", 5_000)  # 0.5 JPY -> 1 yen
@example("JPY", -25_000)  # -2.5 JPY -> -3 yen
@example("GBP", 149)
def test_major_to_minor_half_up(currency: str, n: int) -> None:
    amount = Decimal(n).scaleb(-4)  # exact: at most 4 decimals
    digits = ISO_MINOR_UNITS[currency]
    minor = to_minor(amount, currency)
    assert minor == integer_half_up(n * 10**digits, 10**4)
    assert minor == half_up(Fraction(amount) * 10**digits)
    # never more than half a minor unit away, and a tie always moves away from zero
    error = Fraction(minor) - Fraction(amount) * 10**digits
    assert abs(error) <= Fraction(1, 2)
    if abs(error) == Fraction(1, 2):
        assert abs(minor) > abs(Fraction(amount) * 10**digits)
    if n > 0:  # the simulator's rate-card conversion (rates are positive)
        assert _minor(amount, currency) == minor


# -- ERP tax ------------------------------------------------------------------------------------

amounts = st.integers(min_value=-10**9, max_value=10**9)
tax_rates = st.integers(min_value=0, max_value=99_999).map(lambda k: Decimal(k).scaleb(-5))  # [0, 1), 5 decimals


@PROPERTY
@given(amounts, tax_rates)
@example(1, Decimal("0.5"))
@example(-1, Decimal("0.5"))
@example(10**9, Decimal("0.99999"))
@example(-10**9, Decimal("0.08875"))
@example(40, Decimal("0.08875"))  # 3.55
@example(-40, Decimal("0.08875"))
def test_tax_on_matches_oracle_half_up(amount: int, rate: Decimal) -> None:
    assert tax_on(amount, rate) == half_up(Fraction(amount) * Fraction(rate))


# -- rate cards: rate_on (oracle) and rate_for (connector) vs brute force -----------------------

ROLES = ["analyst", "consultant", "partner"]
DAY0 = dt.date(2026, 1, 1)
days = st.integers(min_value=0, max_value=90)
entries = st.tuples(st.sampled_from(ROLES), days, st.integers(min_value=0, max_value=10**6))
# one entry per (role, effective date): a rate card listing two rates for the same role and day is ambiguous
rate_cards = st.lists(entries, max_size=12, unique_by=lambda e: (e[0], e[1]))


def brute_force_rate(card: list[tuple[str, int, int]], role: str, work_day: int) -> int | None:
    eligible = [(day, rate) for r, day, rate in card if r == role and day <= work_day]
    if not eligible:
        return None
    latest = max(day for day, _ in eligible)
    (rate,) = [rate for day, rate in eligible if day == latest]
    return rate


def iso_day(offset: int) -> str:
    return (DAY0 + dt.timedelta(days=offset)).isoformat()


def connector_rate(card: list[RateCardEntry], role: str, work_date: str) -> int | None:
    try:
        return rate_for([e.to_json() for e in card], role, work_date)
    except Unrateable:
        return None


@PROPERTY
@given(rate_cards, st.sampled_from([*ROLES, "ghost"]), st.integers(min_value=-5, max_value=100))
def test_rate_on_and_rate_for_pick_latest_effective_entry(card, role: str, work_day: int) -> None:
    objects = [RateCardEntry(r, rate, iso_day(day)) for r, day, rate in card]
    work_date = iso_day(work_day)
    want = brute_force_rate(card, role, work_day)
    assert rate_on(objects, role, work_date) == want
    assert connector_rate(objects, role, work_date) == want
    if want is None:
        with pytest.raises(Unrateable):
            rate_for([e.to_json() for e in objects], role, work_date)


def test_rate_on_entry_effective_on_the_work_date_applies() -> None:
    card = [RateCardEntry("analyst", 100, "2026-01-01"), RateCardEntry("analyst", 110, "2026-02-01")]
    assert rate_on(card, "analyst", "2026-01-31") == 100
    assert rate_on(card, "analyst", "2026-02-01") == 110
    assert rate_on(card, "analyst", "2025-12-31") is None
    assert rate_for([e.to_json() for e in card], "analyst", "2026-02-01") == 110


def test_duplicate_effective_date_is_rejected_by_the_clm(api, systems) -> None:
    """Two rates for one role from one day are ambiguous: the oracle (``rate_on``) would take the last and
    the connector (``rate_for``) the first. The CLM refuses such a card, on create and in an amendment, so
    neither ever meets one; the same role on *another* day is a rate change both rate alike."""
    contract = {"account_id": "acc_1", "legal_entity": "US01", "currency": "USD", "billing_type": "time_and_materials",
                "title": "SOW", "start_date": "2026-01-01", "end_date": "2026-12-31"}
    duplicate = [{"role": "analyst", "rate": 100, "effective_from": "2026-01-01"},
                 {"role": "analyst", "rate": 120, "effective_from": "2026-01-01"}]

    rejected = api("clm", "POST", "/contracts", json={**contract, "rate_card": duplicate})

    assert rejected.status_code == 422, rejected.text
    assert rejected.json()["field"] == "rate_card[1].effective_from"
    assert systems.clm.contracts == {}

    stepped = [duplicate[0], {**duplicate[1], "effective_from": "2026-01-15"}]
    created = api("clm", "POST", "/contracts", json={**contract, "rate_card": stepped})
    assert created.status_code == 201, created.text
    ctr = created.json()["id"]
    for action in ("submit", "sign"):
        assert api("clm", "POST", f"/contracts/{ctr}/{action}").status_code == 200
    amended = api("clm", "POST", f"/contracts/{ctr}/amendments", json={"effective_date": "2026-02-01",
                                                                        "rate_card": duplicate})
    assert amended.status_code == 422, amended.text
    assert amended.json()["field"] == "rate_card[1].effective_from"
    assert systems.clm.amendments == {}

    card = [RateCardEntry(e["role"], e["rate"], e["effective_from"]) for e in created.json()["rate_card"]]
    for work_date, want in (("2026-01-14", 100), ("2026-01-15", 120), ("2026-03-01", 120), ("2025-12-31", None)):
        assert rate_on(card, "analyst", work_date) == connector_rate(card, "analyst", work_date) == want


# -- invoice identity: total = sum(lines) + sum(per-line tax) -------------------------------------


@PROPERTY
@given(
    currency=st.sampled_from(sorted(ISO_MINOR_UNITS)),
    rate=tax_rates,
    in_period=st.lists(amounts, min_size=1, max_size=15),
    after_cutoff=st.lists(amounts, max_size=3),
)
@example(currency="USD", rate=Decimal("0.5"), in_period=[1, 1, 1], after_cutoff=[])  # 3 x 0.5 tax: 3, not round(1.5)
def test_invoice_total_is_lines_plus_per_line_tax(currency: str, rate: Decimal, in_period: list[int],
                                                  after_cutoff: list[int]) -> None:
    erp = ErpBackend(FixedClock(), {"X": rate})
    erp.add_legal_entity("LE01", "Test entity", currency, "LE01")
    erp.open_period("2026-01")
    customer = erp.create_customer(external_ref="acc_1", name="Acme", legal_name="Acme Inc.", tax_id="12-3456789",
                                   tax_jurisdiction="X", currency=currency, billing_address={"country": "US"})
    project = erp.create_billing_project(customer_id=customer.id, legal_entity="LE01", contract_ref="ctr_1",
                                         currency=currency, name="SOW", payment_terms_days=30)
    dated = [(a, f"2026-01-{1 + i % 31:02d}") for i, a in enumerate(in_period)]
    dated += [(a, "2026-02-01") for a in after_cutoff]
    for amount, day in dated:
        erp.create_charge(billing_project_id=project.id, charge_date=day, description="work", quantity=Decimal(1),
                          unit_price=amount, amount=amount, currency=currency, lineage={})

    (invoice,) = erp.run_billing("LE01", "2026-01")

    assert [line["amount"] for line in invoice.lines] == in_period
    assert [line["tax"] for line in invoice.lines] == [half_up(Fraction(a) * Fraction(rate)) for a in in_period]
    assert invoice.subtotal == sum(in_period)
    assert invoice.tax_total == sum(tax_on(a, rate) for a in in_period)
    assert invoice.total == sum(in_period) + sum(tax_on(a, rate) for a in in_period)
    assert invoice.currency == currency
    assert sum(1 for c in erp.charges.values() if c.status == "unbilled") == len(after_cutoff)
