"""Scenario files: YAML validated by pydantic, errors pointing at the line.

A scenario describes one what-if: the firm (size, roles, rates), its legal
entities and customers, how contracts arrive, how people behave, and which
connector integrates the systems. Unknown keys are errors, so a typo never
silently falls back to a default.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CURRENCY_MINOR_UNITS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "CHF": 2, "CAD": 2, "AUD": 2}


class ScenarioError(Exception):
    """A scenario that cannot run; the message names the file, line and field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ordered_pair(value: tuple[float, float], name: str = "range") -> tuple[float, float]:
    if value[0] > value[1]:
        raise ValueError(f"{name} must be [low, high] with low <= high, got {list(value)}")
    return value


Range = tuple[float, float]
IntRange = tuple[int, int]
Probability = Annotated[float, Field(ge=0, le=1)]


class Role(_Model):
    name: str = Field(min_length=1, max_length=60)
    share: float = Field(gt=0)
    rates: dict[str, Decimal]

    @field_validator("rates")
    @classmethod
    def _known_currencies(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, rate in rates.items():
            if currency not in CURRENCY_MINOR_UNITS:
                raise ValueError(f"unknown currency {currency!r}; known: {', '.join(CURRENCY_MINOR_UNITS)}")
            if rate <= 0:
                raise ValueError(f"rate for {currency} must be positive")
        return rates


class Firm(_Model):
    consultants: int = Field(ge=1, le=100_000)
    roles: list[Role] = Field(min_length=1)


class LegalEntity(_Model):
    id: str = Field(min_length=1, max_length=10)
    name: str
    currency: str
    invoice_prefix: str = Field(min_length=1, max_length=10)
    weight: float = Field(default=1.0, gt=0)

    @field_validator("currency")
    @classmethod
    def _currency(cls, currency: str) -> str:
        if currency not in CURRENCY_MINOR_UNITS:
            raise ValueError(f"unknown currency {currency!r}; known: {', '.join(CURRENCY_MINOR_UNITS)}")
        return currency


class Customers(_Model):
    count: int = Field(ge=1)
    tax_jurisdictions: dict[str, Decimal] = Field(min_length=1)

    @field_validator("tax_jurisdictions")
    @classmethod
    def _rates(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        for name, rate in rates.items():
            if not 0 <= rate < 1:
                raise ValueError(f"tax rate of {name} must be a fraction in [0, 1), got {rate}")
        return rates


class RateIncrease(_Model):
    probability: Probability = 0.0
    pct: Range = (3.0, 8.0)


BILLING_TYPES = ("time_and_materials", "capped_tm", "fixed_fee_milestones", "retainer")


class Contracts(_Model):
    initial: int = Field(default=0, ge=0)
    per_month: float = Field(ge=0)
    billing_types: dict[str, float] = Field(default_factory=lambda: {"time_and_materials": 1.0})
    duration_months: IntRange = (2, 6)
    team_size: IntRange = (2, 6)
    discount_pct: Range = (0.0, 10.0)
    rate_increase: RateIncrease = RateIncrease()
    expense_markup_pct: Range = (0.0, 0.0)
    cap_factor: Range = (0.6, 1.1)
    milestones: IntRange = (2, 5)
    retainer_hours_per_month: Range = (40.0, 120.0)
    payment_terms_days: int = Field(default=30, ge=0, le=120)

    @field_validator("billing_types")
    @classmethod
    def _mix(cls, mix: dict[str, float]) -> dict[str, float]:
        for name, weight in mix.items():
            if name not in BILLING_TYPES:
                raise ValueError(f"unknown billing type {name!r}; known: {', '.join(BILLING_TYPES)}")
            if weight < 0:
                raise ValueError(f"weight of {name} must not be negative")
        if not any(mix.values()):
            raise ValueError("at least one billing type needs a positive weight")
        return mix

    @model_validator(mode="after")
    def _ranges(self) -> Contracts:
        for name in ("duration_months", "team_size", "discount_pct", "expense_markup_pct", "cap_factor",
                     "milestones", "retainer_hours_per_month"):
            _ordered_pair(getattr(self, name), name)
        if self.duration_months[0] < 1 or self.team_size[0] < 1 or self.milestones[0] < 1:
            raise ValueError("duration_months, team_size and milestones must start at 1 or more")
        return self


class Pipeline(_Model):
    """CRM opportunities: each deal is worked through stages and won or lost."""

    win_rate: Probability = 1.0
    stage_days: Range = (0.0, 0.0)


class Amendments(_Model):
    probability: Probability = 0.0  # per signed contract
    retro_share: Probability = 0.5  # of rate amendments, effective in the past
    rate_change_pct: Range = (-5.0, 10.0)
    cap_raise_pct: Range = (10.0, 60.0)
    extension_months: IntRange = (1, 3)
    milestone_change_pct: Range = (-10.0, 20.0)

    @model_validator(mode="after")
    def _ranges(self) -> Amendments:
        for name in ("rate_change_pct", "cap_raise_pct", "extension_months", "milestone_change_pct"):
            _ordered_pair(getattr(self, name), name)
        return self


class People(_Model):
    hours_per_day: Range = (6.0, 9.0)
    non_billable_share: Probability = 0.05
    late_submission_share: Probability = 0.15
    approval_delay_hours: Range = (2.0, 96.0)
    rejection_rate: Probability = 0.05
    resubmit_delay_hours: Range = (2.0, 48.0)
    legal_review_days: Range = (1.0, 6.0)
    staffing_delay_hours: Range = (4.0, 72.0)
    payment_delay_days: Range = (-5.0, 25.0)
    expenses_per_week: Probability = 0.0  # chance a consultant on a T&M or capped project files an expense
    expense_cost_hours: Range = (0.2, 4.0)  # an expense costs this many hours at the lowest role's rate
    expense_rejection_rate: Probability = 0.05
    adjustment_rate: Probability = 0.0  # share of approved timesheets corrected later
    adjustment_delay_days: Range = (1.0, 45.0)
    milestone_approval_days: Range = (1.0, 10.0)
    account_updates_per_month: Probability = 0.0  # chance per account per month of an address or tax id change

    @model_validator(mode="after")
    def _ranges(self) -> People:
        for name in ("hours_per_day", "approval_delay_hours", "resubmit_delay_hours", "legal_review_days",
                     "staffing_delay_hours", "payment_delay_days", "expense_cost_hours", "adjustment_delay_days",
                     "milestone_approval_days"):
            _ordered_pair(getattr(self, name), name)
        return self


class Scenario(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    start: dt.date
    months: int = Field(ge=1, le=60)
    settle_days: int = Field(default=10, ge=0, le=90)
    firm: Firm
    legal_entities: list[LegalEntity] = Field(min_length=1)
    customers: Customers
    contracts: Contracts
    people: People = People()
    pipeline: Pipeline = Pipeline()
    amendments: Amendments = Amendments()
    connector: str = "reference_impl.connector:build"

    @field_validator("start")
    @classmethod
    def _first_of_month(cls, start: dt.date) -> dt.date:
        if start.day != 1:
            raise ValueError("must be the first day of a month (billing runs are monthly)")
        return start

    @field_validator("connector")
    @classmethod
    def _factory_name(cls, name: str) -> str:
        if ":" not in name:
            raise ValueError("must name a factory as package.module:function")
        return name

    @model_validator(mode="after")
    def _rates_cover_entities(self) -> Scenario:
        for entity in self.legal_entities:
            for role in self.firm.roles:
                if entity.currency not in role.rates:
                    raise ValueError(
                        f"role {role.name!r} has no rate in {entity.currency}, the currency of legal entity {entity.id}"
                    )
        return self

    @property
    def end(self) -> dt.date:
        """The first day after the simulated period."""
        month = self.start.month - 1 + self.months
        return dt.date(self.start.year + month // 12, month % 12 + 1, 1)


# -- YAML with line numbers ----------------------------------------------------


def _to_python(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            key = key_node.value
            result[key] = _to_python(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node)) if node.tag != "tag:yaml.org,2002:str" else node.value


def _line_of(loc: tuple, lines: dict[tuple, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ScenarioError(f"{source}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if root is None:
        raise ScenarioError(f"{source}: the file is empty")
    lines: dict[tuple, int] = {}
    raw = _to_python(root, (), lines)
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source} line 1: a scenario must be a mapping of fields")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        messages = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            field = ".".join(str(p) for p in loc) or "(scenario)"
            line = _line_of(loc, lines)
            where = f" line {line}" if line else ""
            messages.append(f"{source}{where}: {field}: {error['msg']}")
        raise ScenarioError("\n".join(messages)) from None


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc.strerror}") from None
    return parse_scenario(text, str(path))
