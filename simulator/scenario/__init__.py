"""Scenarios: what a scenario may say (:mod:`.models`) and how a file says it (:mod:`.loader`).

Callers import from here: every model and limit, and the loader's entry points.
"""

from simulator.scenario.loader import (
    Lines,
    Replace,
    ScenarioError,
    dump_scenario,
    load_scenario,
    parse_scenario,
    read_scenario_document,
    read_yaml,
    validate_scenario,
)
from simulator.scenario.models import (
    BILLING_TYPES,
    CONCURRENT_EDIT,
    CURRENCY_MINOR_UNITS,
    MAX_DELAY_DAYS,
    MAX_KILL_POINT,
    MAX_PERCENT,
    MAX_RATE,
    MAX_REPLAY_AGES,
    MAX_START_YEAR,
    MIN_START_YEAR,
    REPLAY_AGES_S,
    TIMESTAMP_TOLERANCE_S,
    Amendments,
    Contracts,
    Crashes,
    Customers,
    Drift,
    Faults,
    Firm,
    HttpFaultRule,
    LegalEntity,
    Outage,
    People,
    Pipeline,
    Poison,
    RateIncrease,
    RateLimit,
    Role,
    Scenario,
    ScriptedDelivery,
    SystemName,
    WebhookFaults,
    Window,
)

__all__ = [
    "BILLING_TYPES", "CONCURRENT_EDIT", "CURRENCY_MINOR_UNITS", "MAX_DELAY_DAYS", "MAX_KILL_POINT", "MAX_PERCENT", "MAX_RATE",
    "MAX_REPLAY_AGES", "MAX_START_YEAR", "MIN_START_YEAR", "REPLAY_AGES_S", "TIMESTAMP_TOLERANCE_S",
    "Amendments", "Contracts", "Crashes", "Customers", "Drift", "Faults", "Firm", "HttpFaultRule", "LegalEntity",
    "Outage", "People", "Pipeline", "Poison", "RateIncrease", "RateLimit", "Role", "Scenario", "ScriptedDelivery",
    "SystemName", "WebhookFaults", "Window",
    "Lines", "Replace", "ScenarioError", "dump_scenario", "load_scenario", "parse_scenario", "read_scenario_document",
    "read_yaml", "validate_scenario",
]
