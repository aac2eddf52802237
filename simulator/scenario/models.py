"""The scenario models: what a scenario file may say, validated by pydantic.

A scenario describes one what-if: the firm (size, roles, rates), its legal
entities and customers, how contracts arrive, how people behave, and which
connector integrates the systems. Unknown keys are errors, so a typo never
silently falls back to a default.

Every number is bounded, so an accepted scenario cannot crash the run later
(a date past year 9999, a decimal beyond its precision, an infinite weight):
the limits are generous for any real firm and an error names the field.
Integers are strict (``true``, ``12.0`` and ``"12"`` are not counts), no
number may be a YAML boolean (``yes``/``no``/``on``/``off`` included), and a
rate has no more decimals than its currency's minor unit: nothing is rounded
silently.

Reading the YAML, resolving ``extends:`` and pointing errors at the file
and line is :mod:`simulator.scenario.loader`'s job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from mocks.core.faults import RULE_KINDS
from mocks.systems import SYSTEM_NAMES

CURRENCY_MINOR_UNITS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "CHF": 2, "CAD": 2, "AUD": 2}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _ordered(pair: tuple) -> tuple:
    """The one range check: a ``[low, high]`` pair must not be reversed."""
    if pair[0] > pair[1]:
        raise ValueError(f"must be [low, high] with low <= high, got {list(pair)}")
    return pair


def _known_currency(currency: str) -> str:
    if currency not in CURRENCY_MINOR_UNITS:
        raise ValueError(f"unknown currency {currency!r}; known: {', '.join(CURRENCY_MINOR_UNITS)}")
    return currency


def _tax_fraction(rate: Decimal) -> Decimal:
    if not 0 <= rate < 1:
        raise ValueError(f"a tax rate must be a fraction in [0, 1), got {rate}")
    return rate


def _not_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not the boolean {str(value).lower()} (YAML also reads yes/no/on/off so)")
    return value


# The numbers of a scenario: never a boolean, and an integer is strictly one (not 12.0, not "12").
Int = Annotated[int, BeforeValidator(_not_boolean), Strict()]
Float = Annotated[float, BeforeValidator(_not_boolean)]

# Each range validates itself, so an error's location is the range field (its line, its dotted path).
OrderedRange = AfterValidator(_ordered)


def _pair(item: Any) -> Any:
    """A ``[low, high]`` range of ``item``."""
    return Annotated[tuple[item, item], OrderedRange]


def _one_or_more(value: Any) -> Any:
    """A single number where a list of them is read (as files written before the list give it) is a list of one;
    a boolean is refused as itself, not as the list's first item."""
    return [value] if isinstance(_not_boolean(value), int | float) else value


MAX_DELAY_DAYS = 366  # any wait a scenario describes; longer ones would outlast every run
MAX_PERCENT = 1000  # any increase or markup, in percent

MonthRange = _pair(Annotated[Int, Field(ge=1, le=120)])
IncreaseRange = _pair(Annotated[Float, Field(ge=0, le=MAX_PERCENT)])  # non-negative: an increase, a markup
HoursDelay = _pair(Annotated[Float, Field(ge=0, le=MAX_DELAY_DAYS * 24)])  # waited out, in hours
DaysDelay = _pair(Annotated[Float, Field(ge=0, le=MAX_DELAY_DAYS)])  # waited out, in days
PercentRange = _pair(Annotated[Float, Field(ge=0, lt=100)])  # a discount: 100 % would give the work away
ChangeRange = _pair(Annotated[Float, Field(gt=-100, le=MAX_PERCENT)])  # -100 % or less would make prices non-positive
HoursRange = _pair(Annotated[Float, Field(gt=0, le=24)])
Probability = Annotated[Float, Field(ge=0, le=1)]
RepeatChance = Annotated[Float, Field(ge=0, lt=1)]  # drawn again on its own outcome: at 1 the loop would never end
Weight = Annotated[Float, Field(gt=0, le=1_000_000)]  # a relative weight; bounded so that a sum of them stays finite
Currency = Annotated[str, AfterValidator(_known_currency)]
PaymentDays = Annotated[Int, Field(ge=0, le=120)]  # a contract's payment terms (the ERP takes up to 365)
MAX_PAYMENT_TERMS_LISTED = 20  # payment terms a scenario lists to draw from
MAX_RATE = Decimal(1_000_000)  # per hour, in major units


class Role(_Model):
    name: str = Field(min_length=1, max_length=60)
    share: Weight
    rates: dict[str, Annotated[Decimal, Field(gt=0, le=MAX_RATE, allow_inf_nan=False)]]

    @field_validator("rates")
    @classmethod
    def _known_currencies(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        errors = []
        for currency, rate in rates.items():
            if currency not in CURRENCY_MINOR_UNITS:
                message = f"unknown currency {currency!r}; known: {', '.join(CURRENCY_MINOR_UNITS)}"
            elif rate != rate.quantize(Decimal(1).scaleb(-CURRENCY_MINOR_UNITS[currency])):
                places = CURRENCY_MINOR_UNITS[currency]
                message = (f"{rate} has more decimals than {currency} has minor units ({places}); "
                           "write the rate as the currency can bill it")
            else:
                continue
            # reported at the rate itself: firm.roles.N.rates.CUR, the line it is written on
            errors.append(InitErrorDetails(type=PydanticCustomError("rate", "{message}", {"message": message}),
                                           loc=(currency,), input=rate))
        if errors:
            raise ValidationError.from_exception_data("rates", errors)
        return rates


class Firm(_Model):
    consultants: Int = Field(ge=1, le=100_000)
    roles: list[Role] = Field(min_length=1)


class LegalEntity(_Model):
    id: str = Field(min_length=1, max_length=10)
    name: str
    currency: Currency
    invoice_prefix: str = Field(min_length=1, max_length=10)
    weight: Weight = 1.0


class Customers(_Model):
    count: Int = Field(ge=1, le=1_000_000)
    leads: Int = Field(default=0, ge=0, le=10_000)  # accounts entered in the last month that never buy
    tax_jurisdictions: dict[str, Annotated[Decimal, AfterValidator(_tax_fraction)]] = Field(min_length=1)


class RateIncrease(_Model):
    probability: Probability = 0.0
    pct: IncreaseRange = (3.0, 8.0)  # an increase: non-negative


BILLING_TYPES = ("time_and_materials", "capped_tm", "fixed_fee_milestones", "retainer")


class Contracts(_Model):
    initial: Int = Field(default=0, ge=0, le=100_000)
    per_month: Float = Field(ge=0, le=100_000)
    billing_types: dict[str, Annotated[Float, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=lambda: {"time_and_materials": 1.0})
    duration_months: MonthRange = (2, 6)
    team_size: _pair(Annotated[Int, Field(ge=1, le=100)]) = (2, 6)
    discount_pct: PercentRange = (0.0, 10.0)
    rate_increase: RateIncrease = RateIncrease()
    expense_markup_pct: IncreaseRange = (0.0, 0.0)  # non-negative
    cap_factor: _pair(Annotated[Float, Field(gt=0, le=100)]) = (0.6, 1.1)
    milestones: _pair(Annotated[Int, Field(ge=1, le=50)]) = (2, 5)
    milestone_split: Literal["even", "drawn"] = "even"  # a fixed fee's milestones: equal, or weighted 1 to 3 each
    retainer_hours_per_month: _pair(Annotated[Float, Field(gt=0, le=24 * 31)]) = (40.0, 120.0)
    # each contract's payment terms (days from posting to due): one value, or a list each contract draws one from
    payment_terms_days: Annotated[list[PaymentDays], BeforeValidator(_one_or_more)] = Field(
        default_factory=lambda: [30], min_length=1, max_length=MAX_PAYMENT_TERMS_LISTED)
    # the first deals' types, whatever the draw (a type not in the mix is skipped); those contracts are never
    # amended, so each shows its type's plain case on every seed
    first_billing_types: list[Literal[BILLING_TYPES]] = Field(default=[], max_length=100)
    # the initial deals after those hold one deal of each type in the mix, in a seeded order, won whatever the
    # draw and amended like any other (simulator/firm/sales.py:initial_deal_types): every type on every seed
    initial_covers_mix: bool = False

    @field_validator("billing_types")
    @classmethod
    def _mix(cls, mix: dict[str, float]) -> dict[str, float]:
        for name in mix:
            if name not in BILLING_TYPES:
                raise ValueError(f"unknown billing type {name!r}; known: {', '.join(BILLING_TYPES)}")
        if not any(mix.values()):
            raise ValueError("at least one billing type needs a positive weight")
        return mix

    @property
    def scripted_types(self) -> list[str]:
        """``first_billing_types`` without the types the mix gives no weight (those are skipped)."""
        return [t for t in self.first_billing_types if self.billing_types.get(t)]

    @property
    def mix_types(self) -> list[str]:
        """The billing types the mix gives a positive weight, in the catalog's order."""
        return [t for t in BILLING_TYPES if self.billing_types.get(t)]

    @model_validator(mode="after")
    def _room_to_cover_the_mix(self) -> Contracts:
        needed = len(self.scripted_types) + len(self.mix_types)
        if self.initial_covers_mix and self.initial < needed:
            error = InitErrorDetails(type=PydanticCustomError(
                "initial_too_small", "{message}",
                {"message": f"must be at least {needed} with initial_covers_mix: one deal per billing type in the "
                           f"mix ({len(self.mix_types)}) after the {len(self.scripted_types)} first_billing_types"}),
                loc=("initial",), input=self.initial)
            raise ValidationError.from_exception_data(type(self).__name__, [error])
        return self


class Pipeline(_Model):
    """CRM opportunities: each deal is worked through stages and won or lost."""

    win_rate: Probability = 1.0
    stage_days: DaysDelay = (0.0, 0.0)
    won_first: Int = Field(default=0, ge=0, le=1000)  # the first deals are won whatever the draw (on every seed)


class Amendments(_Model):
    probability: Probability = 0.0  # per signed contract
    retro_share: Probability = 0.5  # of rate amendments, effective in the past
    retro_from_start: bool = False  # a retroactive rate entry takes effect on the contract's start date
    rate_change_pct: ChangeRange = (-5.0, 10.0)
    cap_raise_pct: IncreaseRange = (10.0, 60.0)  # a raise: non-negative
    extension_months: MonthRange = (1, 3)
    milestone_change_pct: ChangeRange = (-10.0, 20.0)


class People(_Model):
    hours_per_day: HoursRange = (6.0, 9.0)
    non_billable_share: Probability = 0.05
    late_submission_share: Probability = 0.15
    approval_delay_hours: HoursDelay = (2.0, 96.0)
    rejection_rate: RepeatChance = 0.05  # a rejected sheet is resubmitted and reviewed again
    resubmit_delay_hours: HoursDelay = (2.0, 48.0)
    legal_review_days: DaysDelay = (1.0, 6.0)
    staffing_delay_hours: HoursDelay = (4.0, 72.0)
    payment_delay_days: _pair(Annotated[Float, Field(ge=-MAX_DELAY_DAYS, le=MAX_DELAY_DAYS)]) = (-5.0, 25.0)
    expenses_per_week: Probability = 0.0  # chance a consultant on a T&M or capped project files an expense
    expense_cost_hours: _pair(Annotated[Float, Field(gt=0, le=1000)]) = (0.2, 4.0)  # hours at the lowest role's rate
    expense_rejection_rate: Probability = 0.05
    adjustment_rate: RepeatChance = 0.0  # share of approved timesheets corrected later (and approved again)
    adjustment_delay_days: DaysDelay = (1.0, 45.0)
    # of adjustments, the share that delete a line logged by mistake (the sheet's last) instead of changing hours
    adjustment_removes_line: Probability = 0.0
    milestone_approval_days: DaysDelay = (1.0, 10.0)
    # of contracts that end inside the horizon, the share whose client queries the hours on its final invoice: the
    # PM writes part of one billed line off (its hours cut), the sheet is approved again, and with no new work the
    # contract's next billing run nets negative (a credit note)
    final_invoice_write_offs: Probability = 0.0
    write_off_delay_days: DaysDelay = (2.0, 12.0)  # from the final billing run to the write-off
    account_updates_per_month: Probability = 0.0  # chance per account per month of an address or tax id change
    account_correction_share: Probability = 0.0  # of account updates, corrected again minutes later
    account_renames: Probability = 0.0  # of account updates, also a new legal name (a rebrand), some over 40 characters
    projects_set_up_by_hand: Probability = 0.0  # of signed contracts: a PM creates the PSA project at once, correctly


SystemName = Literal[SYSTEM_NAMES]  # the registered mock systems (mocks.systems.REGISTRY)


def _utc(moment: dt.datetime) -> dt.datetime:
    """Simulated time is UTC: a time without a zone means UTC, so every machine reads it the same."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


UtcDatetime = Annotated[dt.datetime, AfterValidator(_utc)]


class Window(_Model):
    start: UtcDatetime
    hours: Float = Field(gt=0, le=MAX_DELAY_DAYS * 24)


CONCURRENT_EDIT = "concurrent_edit"  # acts in the firm, just before the request (simulator.faults.FaultPlan)
# The transport's registered effects that a rule may name, and the one kind that acts before the request.
HttpRuleKind = Literal[(*RULE_KINDS, CONCURRENT_EDIT)]


class HttpFaultRule(_Model):
    """Requests matching the filters meet the fault with probability ``rate``.

    ``concurrent_edit`` applies to PATCH requests on an ERP customer or a CRM
    account: just before the request arrives, a finance user edits the same
    record, so an ``If-Match`` taken from an earlier read no longer matches.
    ``latency`` slows the answer by ``latency_seconds``: beyond the caller's
    read timeout the system has still done the work, and the caller times
    out (a lost response); within it, the call succeeds. A rule with
    ``windows`` applies only inside them (simulated time, UTC). The first
    ``first`` matching requests meet the fault whatever the draw (scripted
    instances beside the random rate), so the case happens on every seed.
    A ``server_error`` with ``retry_after_s`` says when to come back, as a
    503 from a busy gateway does.
    """

    kind: HttpRuleKind
    rate: Probability
    latency_seconds: _pair(Annotated[Float, Field(ge=0, le=3600)]) = (1.0, 30.0)
    windows: list[Window] = []
    systems: list[SystemName] = list(SYSTEM_NAMES)
    methods: list[Literal["GET", "POST", "PUT", "PATCH", "DELETE"]] = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    paths: list[str] = []  # path prefixes such as "/charge-batches"; empty means every path
    status: Int = Field(default=503, ge=500, le=599)
    first: Int = Field(default=0, ge=0, le=1000)
    retry_after_s: Int | None = Field(default=None, ge=0, le=86_400)  # a server_error's Retry-After header


class Outage(_Model):
    """A system answers 503 to everything for ``hours`` from ``start`` (simulated time, UTC)."""

    system: SystemName
    start: UtcDatetime
    hours: Float = Field(gt=0, le=MAX_DELAY_DAYS * 24)


class RateLimit(_Model):
    per_second: Float = Field(ge=0.001, le=1_000_000)
    burst: Int = Field(ge=1, le=1_000_000)


class ScriptedDelivery(_Model):
    """The fate of one named event, instead of a random one: how a shrunk counterexample is replayed.

    ``event`` is a change-feed event id as the trace shows it
    (``evt_psa_00000042``). The event is dropped, or sent ``copies`` times
    after ``delay_seconds`` more than the usual network latency.
    """

    event: str = Field(pattern=rf"^evt_({'|'.join(SYSTEM_NAMES)})_\d{{8}}$")
    drop: bool = False
    copies: Int = Field(default=1, ge=1, le=5)
    delay_seconds: Float = Field(default=0.0, ge=0, le=MAX_DELAY_DAYS * 86400)


TIMESTAMP_TOLERANCE_S = 300  # Standard Webhooks: a receiver refuses a timestamp more than 5 minutes from its clock
# When a captured message is replayed, by default: once within the tolerance, then from just past it to days later.
REPLAY_AGES_S = (120.0, 330.0, 420.0, 900.0, 7200.0, 21600.0, 172800.0)
MAX_REPLAY_AGES = 12  # replays per attacked message
ReplayAge = Annotated[Float, Field(gt=0, le=MAX_DELAY_DAYS * 86400)]


def _each_once(values: list, title: str, name: Callable[[Any], str], why: str) -> None:
    """One error per value listed a second time, at its index: "<name> is given twice (first at index i); <why>"."""
    first: dict[Any, int] = {}
    errors = []
    for i, value in enumerate(values):
        if value in first:
            message = f"{name(value)} is given twice (first at index {first[value]}); {why}"
            errors.append(InitErrorDetails(type=PydanticCustomError("duplicate", "{message}", {"message": message}),
                                           loc=(i,), input=value))
        first.setdefault(value, i)
    if errors:
        raise ValidationError.from_exception_data(title, errors)


class WebhookFaults(_Model):
    """What happens to webhook deliveries on the way to the connector.

    ``attacks``: with this probability per delivered event, an attacker who
    has seen the message sends the connector more: one signed with a key it
    guessed (forged), and the captured message itself, unchanged, once
    after each of ``replay_after_seconds`` (replayed: a replay carries its
    original timestamp, so its age is how late it is resent). A connector
    must reject the forged message and every replay older than the
    Standard Webhooks tolerance (``TIMESTAMP_TOLERANCE_S``); a replay within
    it is a duplicate of a delivered message, which it may take in but must
    not act on twice. The courier counts what the connector answered.
    A single number (one age, as older files give it) is a list of one.

    ``redeliver_all_after_days``: that long after the last simulated month,
    every system re-sends every event its change feed still holds, from
    cursor 0, as a sender's "resend all" does (same event ids, fresh
    signatures). Give the run ``settle_days`` beyond it.
    """

    drop: Probability = 0.0  # never delivered at all: only the change feed still has the event
    duplicate: Probability = 0.0  # delivered twice
    delay: Probability = 0.0  # delivered late, by delay_seconds, so later events overtake it
    delay_seconds: _pair(Annotated[Float, Field(ge=0, le=MAX_DELAY_DAYS * 86400)]) = (60.0, 7200.0)
    endpoint_down: list[Window] = []  # the connector's endpoint answers 503; the sender retries on its schedule
    script: list[ScriptedDelivery] = []  # these events meet exactly this fate; the probabilities skip them
    attacks: Probability = 0.0
    replay_after_seconds: Annotated[list[ReplayAge], BeforeValidator(_one_or_more)] = Field(
        default_factory=lambda: list(REPLAY_AGES_S), min_length=1, max_length=MAX_REPLAY_AGES)
    redeliver_all_after_days: Float | None = Field(default=None, ge=0, le=90)  # after the last month: resend all

    @field_validator("replay_after_seconds")
    @classmethod
    def _distinct_ages_one_stale(cls, ages: list[float]) -> list[float]:
        _each_once(ages, "replay_after_seconds", lambda age: f"the age {age:g} s", "each age is one replay")
        if max(ages) <= TIMESTAMP_TOLERANCE_S:
            raise ValueError(f"no age is beyond the {TIMESTAMP_TOLERANCE_S} s timestamp tolerance of Standard "
                             f"Webhooks, so no replay would be stale; give at least one above {TIMESTAMP_TOLERANCE_S}")
        return ages

    @field_validator("script")
    @classmethod
    def _one_fate_per_event(cls, script: list[ScriptedDelivery]) -> list[ScriptedDelivery]:
        seen = set()
        for entry in script:
            if entry.event in seen:
                raise ValueError(f"event {entry.event} is scripted twice")
            seen.add(entry.event)
        return script


MAX_KILL_POINT = 100_000_000  # more calls, writes or acknowledgements than any run makes


def _each_point_once(points: list[int]) -> list[int]:
    """A kill point given twice is a mistake: a process dies once at each point."""
    _each_once(points, "kill points", str, "the process dies once at each point")
    return points


KillPoints = Annotated[list[Annotated[Int, Field(ge=1, le=MAX_KILL_POINT)]], AfterValidator(_each_point_once)]


class Crashes(_Model):
    """The connector process dies and restarts from its durable storage.

    ``every_hours``: at random instants, between two pieces of work.
    The kill points are counted over the whole run, from 1, and each kill
    is a ``process_killed`` fault in the trace saying where it landed:

    - ``at_calls``: right after its Nth API call of any kind (reads and
      token requests included) was committed;
    - ``after_writes``: right after its Nth committed write (a POST, PUT,
      PATCH or DELETE the system answered 2xx; token requests are not
      writes), before it sees the answer: a system changed, the connector's
      own record of it not yet;
    - ``after_acks``: at its next request after it acknowledged (answered
      2xx) its Nth webhook delivery, before that request reaches the
      system: the delivery accepted, its work perhaps not done.

    ``downtime``: down for a window (a deploy gone wrong), then restarted.
    """

    every_hours: _pair(Annotated[Float, Field(gt=0, le=MAX_DELAY_DAYS * 24)]) | None = None  # between crashes
    at_calls: KillPoints = []
    after_writes: KillPoints = []
    after_acks: KillPoints = []
    downtime: list[Window] = []  # down for a while (a deploy gone wrong), then restarted

    @property
    def kill_points(self) -> bool:
        return bool(self.at_calls or self.after_writes or self.after_acks)


class Poison(_Model):
    """Bad source data that a connector cannot process until someone fixes it at the source."""

    unknown_role: Probability = 0.0  # per hourly contract: a staffed role is missing from its rate card
    missing_tax_profile: Probability = 0.0  # per new account: a tax jurisdiction the ERP has no profile for
    unknown_project: Probability = 0.0  # per contract: a PM sets the PSA project up by hand, mistyping the contract
    fixed_after_days: DaysDelay = (2.0, 10.0)  # until the source is corrected
    healthy_deals: Int = Field(default=0, ge=0, le=1000)  # the first deals carry no poison (see pipeline.won_first)
    every_kind: bool = False  # each kind with a rate above 0 poisons its first chance after those, whatever the draw


class Drift(_Model):
    """People changing the ERP behind the connector's back, so the ERP drifts from what the connector wrote.

    ``manual_reversals``: after each billing run, with this probability, a
    finance user of that legal entity reverses one open, uninvoiced charge
    (unbilled, or held over a cap) by hand, ``delay_hours`` after the run. Only a connector that compares
    the ERP with what it wrote (a reconciliation) notices; give it time to,
    after the last run (``settle_days``).
    """

    manual_reversals: Probability = 0.0  # per billing run (one legal entity, one period)
    delay_hours: HoursDelay = (0.5, 12.0)  # after the run


class Faults(_Model):
    """What goes wrong, seeded and scripted: every fault a scenario can script."""

    http: list[HttpFaultRule] = []
    outages: list[Outage] = []
    rate_limits: dict[SystemName, RateLimit] = {}
    webhooks: WebhookFaults = WebhookFaults()
    feed_retention: Int | None = Field(default=None, ge=10, le=100_000_000)  # events each system's change feed keeps
    crashes: Crashes = Crashes()
    token_revocation_every_hours: _pair(Annotated[Float, Field(gt=0, le=MAX_DELAY_DAYS * 24)]) | None = None
    poison: Poison = Poison()
    drift: Drift = Drift()


MIN_START_YEAR, MAX_START_YEAR = 2000, 2100


class Scenario(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    start: dt.date
    months: Int = Field(ge=1, le=60)
    settle_days: Int = Field(default=10, ge=0, le=90)  # the run goes on this long after the last month
    drain_days: Int = Field(default=3, ge=0, le=90)  # the last days of the run: the firm does nothing, connectors finish
    firm: Firm
    legal_entities: list[LegalEntity] = Field(min_length=1)
    customers: Customers
    contracts: Contracts
    people: People = People()
    pipeline: Pipeline = Pipeline()
    amendments: Amendments = Amendments()
    faults: Faults = Faults()
    connector: str = "reference_impl.connector:build"

    @field_validator("start")
    @classmethod
    def _first_of_month(cls, start: dt.date) -> dt.date:
        if start.day != 1:
            raise ValueError("must be the first day of a month (billing runs are monthly)")
        if not MIN_START_YEAR <= start.year <= MAX_START_YEAR:
            raise ValueError(f"must be in the years {MIN_START_YEAR} to {MAX_START_YEAR}, got {start.year}")
        return start

    @field_validator("connector")
    @classmethod
    def _factory_name(cls, name: str) -> str:
        if ":" not in name:
            raise ValueError("must name a factory as package.module:function")
        return name

    @model_validator(mode="after")
    def _unique_names(self) -> Scenario:
        errors = []
        for path, values in ((("legal_entities", "id"), [e.id for e in self.legal_entities]),
                             (("legal_entities", "invoice_prefix"), [e.invoice_prefix for e in self.legal_entities]),
                             (("firm", "roles", "name"), [r.name for r in self.firm.roles])):
            seen: dict[str, int] = {}
            for i, value in enumerate(values):
                if value in seen:
                    message = f"{value!r} is used twice (first at index {seen[value]}); it must be unique"
                    loc = (path[0], i, path[1]) if len(path) == 2 else (path[0], path[1], i, path[2])
                    errors.append(InitErrorDetails(type=PydanticCustomError("duplicate", "{message}",
                                                                            {"message": message}),
                                                   loc=loc, input=value))
                seen.setdefault(value, i)
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    @model_validator(mode="after")
    def _rates_cover_entities(self) -> Scenario:
        # A cross-field check, reported at each entity's currency (its line, its path) rather than at the whole
        # scenario: a ValidationError raised in a validator keeps the locations of its errors.
        errors = []
        for i, entity in enumerate(self.legal_entities):
            missing = [repr(role.name) for role in self.firm.roles if entity.currency not in role.rates]
            if missing:
                who = f"role {missing[0]} has" if len(missing) == 1 else f"roles {', '.join(missing)} have"
                message = f"{who} no rate in {entity.currency}, the currency of legal entity {entity.id}"
                errors.append(InitErrorDetails(type=PydanticCustomError("currency_without_rate", "{message}",
                                                                        {"message": message}),
                                               loc=("legal_entities", i, "currency"), input=entity.currency))
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    @model_validator(mode="after")
    def _drain_within_settle(self) -> Scenario:
        if self.drain_days > self.settle_days:
            error = InitErrorDetails(type=PydanticCustomError(
                "drain_beyond_settle", "{message}",
                {"message": f"must not exceed settle_days ({self.settle_days}): the drain is the end of the settle "
                           f"period, when the firm has stopped and connectors finish"}),
                loc=("drain_days",), input=self.drain_days)
            raise ValidationError.from_exception_data(type(self).__name__, [error])
        return self

    @property
    def end(self) -> dt.date:
        """The first day after the simulated period."""
        month = self.start.month - 1 + self.months
        return dt.date(self.start.year + month // 12, month % 12 + 1, 1)
