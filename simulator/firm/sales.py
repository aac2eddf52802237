"""Sales: accounts appear in the CRM, contracts are drafted and signed in the CLM.

Deals arrive as a Poisson process (``contracts.per_month``) plus an initial
backlog. Each deal opens a new account until the customer count is reached,
then sells to existing accounts. Rate cards start at the firm's list rates
less a negotiated discount, and some contracts carry an effective-dated rate
increase part-way through the term, so rating by work date matters.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

from mocks.clm.models import RateCardEntry, Terms
from simulator.firm.context import DAY, FirmContext, add_months
from simulator.scenario import CURRENCY_MINOR_UNITS


def _minor(amount: Decimal, currency: str) -> int:
    scaled = amount * (10 ** CURRENCY_MINOR_UNITS[currency])
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _new_account(ctx: FirmContext, rng: random.Random, currency: str) -> str:
    fake = ctx.faker
    jurisdiction = rng.choice(sorted(ctx.scenario.customers.tax_jurisdictions))
    account = ctx.systems.crm.create_account(
        legal_name=fake.company() + " " + rng.choice(["Inc.", "LLC", "Ltd.", "Group", "Holdings Corp."]),
        billing_country=jurisdiction[:2],
        currency=currency,
        tax_id=fake.bothify("##-#######"),
        tax_jurisdiction=jurisdiction,
        billing_address={"line1": fake.street_address(), "city": fake.city(), "postal_code": fake.postcode(),
                         "country": jurisdiction[:2]},
    )
    return account.id


def _rate_card(ctx: FirmContext, rng: random.Random, currency: str, start: dt.date, end: dt.date) -> list[RateCardEntry]:
    plan = ctx.scenario.contracts
    discount = Decimal(str(round(rng.uniform(*plan.discount_pct), 1))) / 100
    entries = []
    step_date = None
    if rng.random() < plan.rate_increase.probability and (end - start).days > 45:
        step_date = start + dt.timedelta(days=rng.randint(20, (end - start).days - 20))
        uplift = Decimal(str(round(rng.uniform(*plan.rate_increase.pct), 1))) / 100
    for role in ctx.scenario.firm.roles:
        base = role.rates[currency] * (1 - discount)
        entries.append(RateCardEntry(role.name, _minor(base, currency), start.isoformat()))
        if step_date is not None:
            entries.append(RateCardEntry(role.name, _minor(base * (1 + uplift), currency), step_date.isoformat()))
    return entries


def close_deal(ctx: FirmContext, rng: random.Random, delay_s: float):
    yield ctx.env.timeout(delay_s)
    scenario = ctx.scenario
    entities = scenario.legal_entities
    entity = rng.choices(entities, weights=[e.weight for e in entities])[0]
    crm = ctx.systems.crm
    same_currency = [a.id for a in crm.accounts.values() if a.currency == entity.currency]
    if len(crm.accounts) < scenario.customers.count or not same_currency:
        account_id = _new_account(ctx, rng, entity.currency)
    else:
        account_id = rng.choice(same_currency)
    review_days = rng.uniform(*scenario.people.legal_review_days)
    sign_day = ctx.clock.today() + dt.timedelta(days=int(review_days) + 1)
    start = sign_day + dt.timedelta(days=(7 - sign_day.weekday()) % 7 + 7 * rng.randint(0, 1))
    end = add_months(start, rng.randint(*scenario.contracts.duration_months)) - dt.timedelta(days=1)
    clm = ctx.systems.clm
    contract = clm.create_contract(
        account_id=account_id, legal_entity=entity.id, currency=entity.currency, billing_type="time_and_materials",
        title=f"{ctx.faker.catch_phrase().title()} SOW",
        terms=Terms(1, start.isoformat(), end.isoformat(), _rate_card(ctx, rng, entity.currency, start, end)),
    )
    clm.transition(contract.id, "submit")
    yield ctx.env.timeout(review_days * DAY)
    clm.transition(contract.id, "sign")


def sales(ctx: FirmContext):
    rng = ctx.streams.get("sales")
    plan = ctx.scenario.contracts
    for _ in range(plan.initial):
        ctx.env.process(close_deal(ctx, rng, rng.uniform(0, 3 * DAY)))
    if plan.per_month <= 0:
        return
    mean_gap = 30 * DAY / plan.per_month
    while True:
        yield ctx.env.timeout(rng.expovariate(1 / mean_gap))
        if ctx.env.now >= ctx.horizon - 30 * DAY:
            return  # a deal signed in the last month would bill nothing in the run
        ctx.env.process(close_deal(ctx, rng, 0))
