"""Sales and account management: the pipeline, contracts and amendments.

Deals arrive as a Poisson process (``contracts.per_month``) plus an initial
backlog. Each deal is an opportunity in the CRM, worked through its stages
and won or lost. A won deal becomes a contract in the CLM, of a billing
type drawn from the scenario's mix (or dealt, for the first deals a
scenario scripts and, with ``contracts.initial_covers_mix``, one initial
deal of each type, so no seed misses one), with terms sized from the team and
duration: rate cards (with an effective-dated increase on some), caps below
the expected T&M value (so some work goes on hold), milestone schedules and
monthly retainer fees. After signing, some contracts are amended: rate
changes (some retroactive), cap raises, extensions, milestone repricing.
Account managers also update account master data now and then.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from faker import Faker

from mocks.clm.models import MilestoneTerm, RateCardEntry, Terms
from simulator.firm.context import DAY, FirmContext, add_months
from simulator.firm.delivery import plan_team
from simulator.scenario import CURRENCY_MINOR_UNITS, LegalEntity, Scenario

HOURS_PER_MONTH = 21 * 7.5


def _minor(amount: Decimal, currency: str) -> int:
    scaled = amount * (10 ** CURRENCY_MINOR_UNITS[currency])
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _round_to(amount: int, currency: str, major: int = 100) -> int:
    step = major * 10 ** CURRENCY_MINOR_UNITS[currency]
    return max(step, round(amount / step) * step)


UNKNOWN_JURISDICTION = "ZZ-UNKNOWN"  # no ERP has a tax profile for it
MISSING_TAX_PROFILE, UNKNOWN_ROLE, UNKNOWN_PROJECT = \
    "poison_missing_tax_profile", "poison_unknown_role", "poison_unknown_project"  # the fault kinds they fire


LEGAL_FORMS = ("Inc.", "LLC", "Ltd.", "Group", "Holdings Corp.", "International Professional Services plc")


def _new_account(ctx: FirmContext, rng: random.Random, currency: str, deal: int | None,
                 fake: Faker | None = None) -> str:
    """A CRM account for deal ``deal`` (None: a lead that never buys, never poisoned), named by ``fake`` (default:
    the firm's own Faker)."""
    fake = fake or ctx.faker
    jurisdiction = rng.choice(sorted(ctx.scenario.customers.tax_jurisdictions))
    poisoned = False
    if deal is not None:  # a lead draws no poison
        poison = ctx.streams.get("poison", "account", str(deal))
        rate = ctx.scenario.faults.poison.missing_tax_profile
        poisoned = (poison.random() < rate or _owed(ctx, MISSING_TAX_PROFILE, rate)) and not _healthy(ctx, deal)
    suffix = rng.choice(LEGAL_FORMS)
    account = ctx.systems.crm.create_account(
        legal_name=f"{fake.company()} {suffix}",
        billing_country=jurisdiction[:2],
        currency=currency,
        tax_id=fake.bothify("##-#######"),
        tax_jurisdiction=UNKNOWN_JURISDICTION if poisoned else jurisdiction,
        billing_address={"line1": fake.street_address(), "city": fake.city(), "postal_code": fake.postcode(),
                         "country": jurisdiction[:2]},
    )
    if poisoned:
        ctx.fire_fault(MISSING_TAX_PROFILE, account=account.id)
        fix = {"tax_jurisdiction": jurisdiction}
        ctx.env.process(_fix_later(ctx, poison, lambda: ctx.systems.crm.update_account(account.id, fix)))
    return account.id


def _fix_later(ctx: FirmContext, rng: random.Random, fix):
    """Someone notices the bad record and corrects it at the source, days later."""
    yield ctx.env.timeout(rng.uniform(*ctx.scenario.faults.poison.fixed_after_days) * DAY)
    if not ctx.at_rest:
        fix()


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


def _estimated_value(ctx: FirmContext, card: list[RateCardEntry], months: int) -> int:
    team = sum(ctx.scenario.contracts.team_size) / 2
    first_rates = [e.rate for e in card if e.effective_from == card[0].effective_from]
    return int(team * months * HOURS_PER_MONTH * sum(first_rates) / len(first_rates))


def _payment_terms_days(ctx: FirmContext, deal: int) -> int:
    """The deal's payment terms: the scenario's one value, or one of its list drawn from a stream of the deal's own
    (so listing them moves no other draw)."""
    choices = ctx.scenario.contracts.payment_terms_days
    return choices[0] if len(choices) == 1 else ctx.streams.get("payment_terms", str(deal)).choice(choices)


def _milestone_shares(ctx: FirmContext, deal: int, count: int) -> list[Fraction]:
    """Each milestone's share of a fixed fee: equal, or (``contracts.milestone_split: drawn``) weighted 1 to 3 each,
    drawn from a stream of the deal's own (so no other draw moves)."""
    if ctx.scenario.contracts.milestone_split == "even":
        return [Fraction(1, count)] * count
    rng = ctx.streams.get("milestone_split", str(deal))
    weights = [rng.randint(1, 3) for _ in range(count)]
    return [Fraction(weight, sum(weights)) for weight in weights]


def _terms(ctx: FirmContext, rng: random.Random, billing_type: str, entity: LegalEntity, start: dt.date,
           months: int, payment_terms_days: int, deal: int) -> Terms:
    plan = ctx.scenario.contracts
    currency = entity.currency
    end = add_months(start, months) - dt.timedelta(days=1)
    card = _rate_card(ctx, rng, currency, start, end)
    value = _estimated_value(ctx, card, months)
    markup = "0"
    if billing_type in ("time_and_materials", "capped_tm"):
        markup = str(round(rng.uniform(*plan.expense_markup_pct), 1))
    terms = Terms(1, start.isoformat(), end.isoformat(), card, markup, payment_terms_days=payment_terms_days)
    if billing_type == "capped_tm":
        terms.cap = _round_to(int(value * rng.uniform(*plan.cap_factor)), currency)
    elif billing_type == "fixed_fee_milestones":
        count = rng.randint(*plan.milestones)
        span = (end - start).days
        for i, share in enumerate(_milestone_shares(ctx, deal, count)):
            planned = start + dt.timedelta(days=span * (i + 1) // count)
            terms.milestones.append(MilestoneTerm(f"M{i + 1}", f"Deliverable {i + 1}",
                                                  _round_to(int(value * share), currency, 10), planned.isoformat()))
    elif billing_type == "retainer":
        rates = sorted(e.rate for e in card if e.effective_from == start.isoformat())
        terms.retainer_fee = _round_to(int(rng.uniform(*plan.retainer_hours_per_month) * rates[len(rates) // 2]),
                                       currency, 10)
    return terms


def _owed(ctx: FirmContext, kind: str, rate: float) -> bool:
    """Whether ``poison.every_kind`` still owes the run a first poison record of this kind (and its rate is not 0)."""
    return ctx.scenario.faults.poison.every_kind and rate > 0 and ctx.faults is not None \
        and not ctx.faults.counts.get(kind)


def _healthy(ctx: FirmContext, deal: int) -> bool:
    """Whether the deal is one of the first ``poison.healthy_deals``, which carry no poison of any kind."""
    return deal <= ctx.scenario.faults.poison.healthy_deals


def initial_deal_types(scenario: Scenario, rng: random.Random) -> dict[int, str]:
    """The deals whose billing type is dealt rather than drawn, so the initial backlog covers the mix.

    With ``contracts.initial_covers_mix``, the initial deals right after the
    ``first_billing_types`` ones get each billing type of the mix once, in
    an order shuffled by ``rng``; :func:`close_deal` wins them whatever the
    draw, so every seed signs a contract of every type in the mix at the
    start of the run (the scenario's validation guarantees there are enough
    initial deals). Empty without the option.
    """
    plan = scenario.contracts
    if not plan.initial_covers_mix:
        return {}
    types = plan.mix_types
    rng.shuffle(types)
    first = len(plan.scripted_types) + 1
    return {deal: billing_type for deal, billing_type in enumerate(types, start=first)}


def close_deal(ctx: FirmContext, deal: int, delay_s: float, dealt_type: str | None = None):
    """Deal ``deal`` worked through the pipeline and, if won, signed; ``dealt_type`` (see
    :func:`initial_deal_types`) fixes its billing type and wins it whatever the draw."""
    rng = ctx.streams.get("deal", str(deal))
    yield ctx.env.timeout(delay_s)
    scenario = ctx.scenario
    entity = _draw_entity(rng, scenario.legal_entities)
    crm = ctx.systems.crm
    same_currency = [a.id for a in crm.accounts.values() if a.currency == entity.currency]
    if len(crm.accounts) < scenario.customers.count or not same_currency:
        account_id = _new_account(ctx, rng, entity.currency, deal)
    else:
        account_id = rng.choice(same_currency)
    mix = scenario.contracts.billing_types
    billing_type = rng.choices(list(mix), weights=list(mix.values()))[0]
    scripted = scenario.contracts.scripted_types
    if deal <= len(scripted):  # stratified: these deals' types are the scenario's, the draw above is spent anyway
        billing_type = scripted[deal - 1]
    elif dealt_type is not None:  # the same: one initial deal of each type in the mix
        billing_type = dealt_type
    months = rng.randint(*scenario.contracts.duration_months)

    # The opportunity is worked through the pipeline before anything is drafted.
    list_rate = sum(role.rates[entity.currency] for role in scenario.firm.roles) / len(scenario.firm.roles)
    estimate = _minor(list_rate * Decimal(str(sum(scenario.contracts.team_size) / 2 * months * HOURS_PER_MONTH)),
                      entity.currency)
    opportunity = crm.create_opportunity(account_id, f"{ctx.faker.bs().title()}", estimate, entity.currency,
                                         (ctx.clock.today() + dt.timedelta(days=30)).isoformat())
    for stage in ("proposal", "negotiation"):
        yield ctx.env.timeout(rng.uniform(*scenario.pipeline.stage_days) * DAY)
        crm.move_opportunity(opportunity.id, stage)
    if rng.random() >= scenario.pipeline.win_rate and deal > scenario.pipeline.won_first and dealt_type is None:
        crm.move_opportunity(opportunity.id, "closed_lost")
        return
    crm.move_opportunity(opportunity.id, "closed_won")

    review_days = rng.uniform(*scenario.people.legal_review_days)
    sign_day = ctx.clock.today() + dt.timedelta(days=int(review_days) + 1)
    if billing_type == "retainer":
        start = add_months(sign_day.replace(day=1), 1)
    else:
        start = sign_day + dt.timedelta(days=(7 - sign_day.weekday()) % 7 + 7 * rng.randint(0, 1))
    clm = ctx.systems.clm
    terms = _terms(ctx, rng, billing_type, entity, start, months, _payment_terms_days(ctx, deal), deal)
    poison = ctx.streams.get("poison", "deal", str(deal))
    missing_role = [] if _healthy(ctx, deal) else _leave_a_role_out(ctx, poison, billing_type, terms)
    contract = clm.create_contract(
        account_id=account_id, legal_entity=entity.id, currency=entity.currency, billing_type=billing_type,
        title=f"{ctx.faker.catch_phrase().title()} SOW", opportunity_id=opportunity.id, terms=terms,
    )
    if missing_role:
        ctx.fire_fault(UNKNOWN_ROLE, contract=contract.id, role=missing_role[0].role)
    clm.transition(contract.id, "submit")
    yield ctx.env.timeout(review_days * DAY)
    if ctx.at_rest:
        return
    clm.transition(contract.id, "sign")
    ctx.env.process(plan_team(ctx, contract.id))
    rate = scenario.faults.poison.unknown_project
    if (poison.random() < rate or _owed(ctx, UNKNOWN_PROJECT, rate)) and not _healthy(ctx, deal):
        _set_up_project_by_hand(ctx, poison, contract)
    elif ctx.streams.get("people", "project_by_hand", str(deal)).random() < scenario.people.projects_set_up_by_hand:
        _start_project_before_the_integration(ctx, contract)
    if missing_role:
        ctx.env.process(_fix_later(ctx, poison, lambda: _add_missing_rates(ctx, contract.id, missing_role)))
    if rng.random() < scenario.amendments.probability and deal > len(scripted):  # a scripted deal keeps its terms
        ctx.env.process(amend(ctx, contract.id))


def _leave_a_role_out(ctx: FirmContext, rng: random.Random, billing_type: str, terms: Terms) -> list[RateCardEntry]:
    """Poison: a role the firm staffs is left out of an hourly contract's draft rate card (an amendment adds it later)."""
    if billing_type not in ("time_and_materials", "capped_tm"):
        return []
    rate = ctx.scenario.faults.poison.unknown_role
    if rng.random() >= rate and not _owed(ctx, UNKNOWN_ROLE, rate):
        return []
    role = rng.choice(sorted({e.role for e in terms.rate_card}))
    missing = [e for e in terms.rate_card if e.role == role]
    terms.rate_card = [e for e in terms.rate_card if e.role != role]
    return missing


def _add_missing_rates(ctx: FirmContext, contract_id: str, entries: list[RateCardEntry]) -> None:
    clm = ctx.systems.clm
    contract = clm.contracts[contract_id]
    if contract.status != "signed":
        return
    amendment = clm.propose_amendment(contract_id, effective_date=ctx.clock.today().isoformat(), rate_card=entries)
    clm.sign_amendment(amendment.id)


def _set_up_project_by_hand(ctx: FirmContext, rng: random.Random, contract) -> None:
    """Poison: a PM creates the PSA project before the integration does, typing the contract id wrong."""
    psa = ctx.systems.psa
    typo = contract.id.upper().replace("_", "-")
    project = psa.create_project(typo, f"{contract.title} (set up by hand)", contract.terms.start_date,
                                 contract.terms.end_date, ["Delivery"])
    ctx.hand_made_projects[project.id] = contract.id
    ctx.fire_fault(UNKNOWN_PROJECT, project=project.id, contract=contract.id)
    ctx.env.process(_fix_later(ctx, rng, lambda: psa.relink_project(project.id, contract.id)))


def _start_project_before_the_integration(ctx: FirmContext, contract) -> None:
    """A PM who will not wait creates the PSA project (correctly) the moment the contract is signed.

    Staffing, and so timesheets, can then start before the connector has
    set the contract up in the ERP: children before their parent.
    """
    psa = ctx.systems.psa
    psa.create_project(contract.id, contract.title, contract.terms.start_date, contract.terms.end_date,
                       ["Delivery", "Project management"])


def _amendment_changes(ctx: FirmContext, rng: random.Random, contract, today: dt.date) -> dict:
    plan = ctx.scenario.amendments
    terms = contract.terms
    start, end = dt.date.fromisoformat(terms.start_date), dt.date.fromisoformat(terms.end_date)
    if contract.billing_type == "capped_tm" and rng.random() < 0.6:
        return {"cap": _round_to(int(terms.cap * (1 + rng.uniform(*plan.cap_raise_pct) / 100)), contract.currency)}
    if contract.billing_type == "fixed_fee_milestones":
        chosen = rng.sample(terms.milestones, rng.randint(1, len(terms.milestones)))
        return {"milestone_amounts": {m.ref: _round_to(int(m.amount * (1 + rng.uniform(*plan.milestone_change_pct) / 100)),
                                                       contract.currency, 10) for m in chosen}}
    if contract.billing_type == "retainer" or rng.random() < 0.2:
        return {"end_date": (add_months(end + dt.timedelta(days=1), rng.randint(*plan.extension_months))
                             - dt.timedelta(days=1)).isoformat()}
    if rng.random() < plan.retro_share and today > start:
        effective = start + dt.timedelta(days=rng.randint(0, (today - start).days))
        if plan.retro_from_start:  # back over everything already worked, and so over whatever was invoiced
            effective = start
    else:
        effective = today + dt.timedelta(days=rng.randint(1, 30))
    factor = Decimal(str(1 + rng.uniform(*plan.rate_change_pct) / 100))
    current = {}
    for entry in terms.rate_card:  # the rate in force on the effective date, per role
        if entry.effective_from <= effective.isoformat():
            current[entry.role] = entry.rate
    return {"rate_card": [RateCardEntry(role, int((Decimal(rate) * factor).quantize(Decimal(1), ROUND_HALF_UP)),
                                        effective.isoformat()) for role, rate in sorted(current.items())]}


def amend(ctx: FirmContext, contract_id: str):
    """An amendment some way into the term, signed a few days after it is proposed."""
    rng = ctx.streams.get("amendment", contract_id)
    clm = ctx.systems.clm
    contract = clm.contracts[contract_id]
    start, end = dt.date.fromisoformat(contract.terms.start_date), dt.date.fromisoformat(contract.terms.end_date)
    when = start + dt.timedelta(days=int((end - start).days * rng.uniform(0.3, 0.9)))
    yield ctx.wait_until(ctx.clock.at(when, 11))
    if ctx.env.now >= ctx.horizon:
        return
    changes = _amendment_changes(ctx, rng, contract, ctx.clock.today())
    if not changes.get("rate_card", True):
        return
    amendment = clm.propose_amendment(contract_id, effective_date=when.isoformat(), **changes)
    yield ctx.env.timeout(rng.uniform(1, 5) * DAY)
    if ctx.at_rest:
        return
    clm.sign_amendment(amendment.id)
    ctx.observe("amendments", {"contract": contract_id, "kind": sorted(changes)[0],
                               "retro": bool(changes.get("rate_card"))
                               and changes["rate_card"][0].effective_from < ctx.clock.today().isoformat()})


def account_updates(ctx: FirmContext):
    """Now and then an account moves office or corrects its tax id, and (``people.account_renames``) some rebrand
    at the same time; the ERP customer must follow.

    Some edits are corrected minutes later (a typo fixed by the same user), so
    two versions of one account are in flight at once: the last one written
    must be the last one made, not the last one to arrive.
    """
    rng = ctx.streams.get("account_updates")
    corrections = ctx.streams.get("account_corrections")
    renames = ctx.streams.get("account_renames")
    people = ctx.scenario.people
    if people.account_updates_per_month <= 0:
        return
    while ctx.env.now < ctx.horizon:
        yield ctx.env.timeout(rng.uniform(25, 35) * DAY)
        if ctx.at_rest:
            return
        for account in list(ctx.systems.crm.accounts.values()):
            if rng.random() < people.account_updates_per_month:
                if rng.random() < 0.7:
                    address = {"line1": ctx.faker.street_address(), "city": ctx.faker.city(),
                               "postal_code": ctx.faker.postcode(), "country": account.billing_address["country"]}
                    ctx.systems.crm.update_account(account.id, {"billing_address": address})
                else:
                    ctx.systems.crm.update_account(account.id, {"tax_id": ctx.faker.bothify("##-#######")})
                if people.account_renames and renames.random() < people.account_renames:
                    ctx.systems.crm.update_account(account.id, {"legal_name": _renamed(account.legal_name, renames)})
                if people.account_correction_share and corrections.random() < people.account_correction_share:
                    ctx.env.process(_correct_account(ctx, account.id, corrections.uniform(5, 120)))


def _renamed(legal_name: str, rng: random.Random) -> str:
    """A rebrand: the name kept, its legal form changed (some forms make it longer than an ERP's display limit)."""
    stem = next((legal_name.removesuffix(" " + form) for form in LEGAL_FORMS if legal_name.endswith(" " + form)),
                legal_name)
    return f"{stem} {rng.choice([form for form in LEGAL_FORMS if not legal_name.endswith(' ' + form)])}"


def _correct_account(ctx: FirmContext, account_id: str, after_s: float):
    yield ctx.env.timeout(after_s)
    if ctx.at_rest:
        return
    ctx.systems.crm.update_account(account_id, {"tax_id": ctx.faker.bothify("##-#######")})


def _draw_entity(rng: random.Random, entities: list[LegalEntity]) -> LegalEntity:
    """A legal entity, drawn by the scenario's weights (one draw of ``rng``)."""
    return rng.choices(entities, weights=[e.weight for e in entities])[0]


def leads(ctx: FirmContext):
    """``customers.leads`` accounts entered in the CRM in the run's last month, after the last deal started: none
    buys within the horizon, and each is still one ERP customer. Drawn from streams and a Faker of their own, so
    no other draw moves."""
    count = ctx.scenario.customers.leads
    if count == 0:
        return
    yield ctx.wait_until(max(ctx.env.now, ctx.horizon - 30 * DAY))  # when sales() starts its last deal
    rng = ctx.streams.get("leads")
    fake = Faker("en_US")
    fake.seed_instance(ctx.streams.derive_int("leads", "faker"))
    entities = ctx.scenario.legal_entities
    for _ in range(count):
        yield ctx.env.timeout(rng.uniform(0.5, 5) * DAY)
        if ctx.at_rest:
            return
        _new_account(ctx, rng, _draw_entity(rng, entities).currency, None, fake)


def sales(ctx: FirmContext):
    rng = ctx.streams.get("sales")
    plan = ctx.scenario.contracts
    dealt = initial_deal_types(ctx.scenario, ctx.streams.get("initial_deal_types"))
    deals = 0
    for _ in range(plan.initial):
        deals += 1
        ctx.env.process(close_deal(ctx, deals, rng.uniform(0, 3 * DAY), dealt.get(deals)))
    if plan.per_month <= 0:
        return
    mean_gap = 30 * DAY / plan.per_month
    while True:
        yield ctx.env.timeout(rng.expovariate(1 / mean_gap))
        if ctx.env.now >= ctx.horizon - 30 * DAY:
            return  # a deal signed in the last month would bill nothing in the run
        deals += 1
        ctx.env.process(close_deal(ctx, deals, 0))
