"""The requirement catalog: the one list the checks, the report and CONFORMANCE.md all read.

A requirement is a promise a connector makes about money: an
ID that never changes meaning, a family, an RFC 2119 level, one sentence,
why it matters in money, and the scenario and faults that exercise it.
Changing any of that changes :func:`catalog_hash`, so a published report
says exactly which catalog it was certified against.

``needs`` names a capability the requirement exercises. A connector that
declares it lacks the capability gets *not applicable* only where
``optional`` says the catalog allows it (a firm that never signs retainers
need not bill them); anywhere else the requirement is *skipped*, and a skip
blocks certification.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from enum import StrEnum


class Family(StrEnum):
    IDEMP = "IDEMP"
    ORDER = "ORDER"
    REPLAY = "REPLAY"
    RECON = "RECON"
    SYNC = "SYNC"
    RATE = "RATE"
    BILL = "BILL"
    TRACE = "TRACE"
    SEC = "SEC"
    LOAD = "LOAD"


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"


# Capabilities a connector may declare it lacks (see conformance/subject.py).
WEBHOOKS = "webhooks"  # takes signed webhooks at all (a feed-only connector does not)
RETAINERS = "retainers"
MILESTONES = "milestones"
CAPS = "capped_tm"
DURABLE_STATE = "durable_state"  # keeps its state across a restart (no requirement waives this)
CAPABILITIES = (WEBHOOKS, RETAINERS, MILESTONES, CAPS, DURABLE_STATE)
BILLING_TYPE_OF = {RETAINERS: "retainer", MILESTONES: "fixed_fee_milestones", CAPS: "capped_tm"}


@dataclass(frozen=True)
class Requirement:
    id: str
    family: Family
    level: Level
    statement: str
    money: str  # what it costs when broken
    scenario: str  # file under conformance/scenarios/
    faults: tuple[str, ...] = ()  # fault kinds (as the trace names them) that must fire for the run to show anything
    needs: str | None = None
    optional: bool = False  # whether lacking ``needs`` makes it not applicable (else: skipped)

    def to_json(self) -> dict:
        return {**asdict(self), "family": str(self.family), "level": str(self.level), "faults": list(self.faults)}


MUST, SHOULD = Level.MUST, Level.SHOULD

CATALOG: tuple[Requirement, ...] = (
    Requirement(
        "C2C-IDEMP-001", Family.IDEMP, MUST,
        "A webhook delivered more than once creates nothing twice in the ERP.",
        "Senders deliver at least once; every duplicate a connector acts on again is a charge billed twice.",
        "duplicates.yaml", ("webhook_duplicate",)),
    Requirement(
        "C2C-IDEMP-002", Family.IDEMP, MUST,
        "A write whose response was lost after the ERP committed it, then retried, creates nothing twice.",
        "A timeout after commit is indistinguishable from a failure; a retry without an idempotency key books "
        "the batch again.",
        "lost_responses.yaml", ("lost_response", "timeout", "latency", "connection_reset")),
    Requirement(
        "C2C-IDEMP-003", Family.IDEMP, MUST,
        "Every event redelivered from cursor 0 after quiescence changes nothing in the ERP.",
        "Replays happen (a sender's resend-all, a cursor reset after a restore); acting on old events again "
        "re-bills months of work.",
        "replay_all.yaml", ("redeliver_all",)),
    Requirement(
        "C2C-ORDER-001", Family.ORDER, MUST,
        "Whatever order webhooks arrive in, the ERP ends up holding what the final source state says.",
        "Queues and retries reorder events; a connector that trusts arrival order drops or mis-prices work.",
        "delivery_order.yaml", ("webhook_delay", "webhook_duplicate")),
    Requirement(
        "C2C-ORDER-002", Family.ORDER, MUST,
        "An older version of a record never overwrites a newer one in the ERP.",
        "A stale customer address or tax id sends invoices to the wrong place with the wrong tax.",
        "stale_versions.yaml", ("webhook_delay", "server_error", "concurrent_edit")),
    Requirement(
        "C2C-ORDER-003", Family.ORDER, MUST,
        "Work that arrives before its parent is set up (a timesheet before its contract's billing project) is "
        "billed once the parent exists.",
        "Children that are dropped because their parent was late are revenue that is never invoiced.",
        "children_first.yaml", ("poison_missing_tax_profile",)),
    Requirement(
        "C2C-REPLAY-001", Family.REPLAY, MUST,
        "A message that cannot be processed is set aside without holding up the others: every contract set-up "
        "and approval that no poison touches still reaches the ERP within 4 simulated hours.",
        "One bad record that blocks the queue delays every customer's invoice behind it.",
        "poison.yaml", ("poison_unknown_role", "poison_missing_tax_profile", "poison_unknown_project")),
    Requirement(
        "C2C-REPLAY-002", Family.REPLAY, MUST,
        "Once the bad source data is fixed, dead-lettered messages are replayed and the ERP converges.",
        "A message discarded after its last retry is work that is never billed.",
        "poison.yaml", ("poison_unknown_role", "poison_missing_tax_profile", "poison_unknown_project")),
    Requirement(
        "C2C-REPLAY-003", Family.REPLAY, MUST,
        "A crash at any moment (at random, right after a committed write, or between acknowledging a webhook and "
        "finishing its work) and the restart from durable state lose nothing and duplicate nothing, and whatever "
        "the connector had been sent before it went down is in the ERP and the PSA within 1 hour of its restart.",
        "State held only in memory is lost at the first deploy or OOM kill: work unbilled, or billed twice.",
        "crashes.yaml", ("connector_crash", "process_killed", "connector_downtime"), DURABLE_STATE),
    Requirement(
        "C2C-RECON-001", Family.RECON, MUST,
        "After a fault storm and quiescence, the ERP equals the oracle to the minor unit.",
        "Every fault of the catalog at once is an ordinary month in production; any residue is leakage or "
        "over-billing.",
        "fault_storm.yaml", ("server_error", "outage", "lost_response", "webhook_drop", "connector_crash")),
    Requirement(
        "C2C-RECON-002", Family.RECON, MUST,
        "An approval whose webhook never arrives reaches the ERP within 24 simulated hours, from the change feed.",
        "Webhooks get lost; a connector that only listens never bills what it did not hear about.",
        "dropped_webhooks.yaml", ("webhook_drop", "endpoint_down")),
    Requirement(
        "C2C-RECON-003", Family.RECON, MUST,
        "When the change feed has expired the connector's cursor (410), it resynchronises and misses nothing.",
        "After a long outage the feed no longer holds the gap; a connector that resumes from 'now' loses it.",
        "feed_retention.yaml", ("webhook_drop", "endpoint_down")),
    Requirement(
        "C2C-RECON-004", Family.RECON, SHOULD,
        "Charges reversed by hand in the ERP are found and repaired by the next monthly reconciliation.",
        "A finance user's manual reversal of a valid charge is revenue lost until someone notices.",
        "drift.yaml", ("manual_reversal",)),
    Requirement(
        "C2C-SYNC-001", Family.SYNC, MUST,
        "Every source change that reaches the connector is in the ERP and the PSA within 1 simulated hour, or "
        "within 1 hour of the connector's restart when a crash, kill or downtime interrupted that hour, on a day "
        "without faults and under crashes: an account's master data in its ERP customer, a signed contract as its "
        "billing project and PSA project, an approval as a charge citing it, a timesheet re-opened for correction "
        "as the reversal of its charges.",
        "A customer, project or charge missing for days is invoiced a run late or to an old address, even when a "
        "later resync or the monthly reconciliation repairs the ledger by the end.",
        "crashes.yaml", ("connector_crash", "process_killed", "connector_downtime"), WEBHOOKS, True),
    Requirement(
        "C2C-RATE-001", Family.RATE, MUST,
        "After a 429 with Retry-After, the connector sends that system nothing before the time it was given, "
        "and being throttled costs no money.",
        "Retrying early burns the quota, gets the integration throttled for longer, and delays every invoice.",
        "rate_limits.yaml"),
    Requirement(
        "C2C-BILL-001", Family.BILL, MUST,
        "On a capped contract billed plus held equals approved value, billed never exceeds the cap, and held "
        "work is released oldest work date first (ties by item) whenever headroom appears.",
        "Billing above a cap is a dispute; never releasing held work after a cap raise is leakage.",
        "billing.yaml", (), CAPS, True),
    Requirement(
        "C2C-BILL-002", Family.BILL, MUST,
        "Each approved timesheet line is charged hours × the rate in effect on its work date, and each approved "
        "expense its cost plus markup.",
        "The wrong rate on every line is the most common billing error there is.",
        "billing.yaml"),
    Requirement(
        "C2C-BILL-003", Family.BILL, MUST,
        "A retroactive rate amendment re-prices work already charged, back to its effective date.",
        "Ignoring a retro amendment under-bills (or over-bills) every hour since its effective date.",
        "amendments.yaml"),
    Requirement(
        "C2C-BILL-004", Family.BILL, MUST,
        "Each milestone of the contract's schedule gets a PSA milestone, and each one the client accepted is "
        "charged once, at its amount in the final contract version.",
        "A milestone billed twice is a five-figure dispute.",
        "billing.yaml", (), MILESTONES, True),
    Requirement(
        "C2C-BILL-005", Family.BILL, MUST,
        "Each retainer is charged its monthly fee once for every period opened within its term.",
        "A missed retainer period is a month of fees never invoiced.",
        "billing.yaml", (), RETAINERS, True),
    Requirement(
        "C2C-BILL-006", Family.BILL, MUST,
        "A timesheet adjusted after approval or invoicing is re-charged to its final approved hours.",
        "Dropped adjustments bill hours nobody worked, or leave corrected hours unbilled.",
        "billing.yaml"),
    Requirement(
        "C2C-BILL-007", Family.BILL, MUST,
        "Amounts are rounded half-up to the currency's minor unit (none for JPY).",
        "One-cent differences are the disputes that cost the most to investigate.",
        "billing.yaml"),
    Requirement(
        "C2C-BILL-008", Family.BILL, MUST,
        "Each CRM account is exactly one ERP customer, with the account's master data and tax profile, and each "
        "signed contract one billing project for that customer and one PSA project that names it.",
        "Invoices to the wrong customer or at the wrong tax rate are reissued, and paid late.",
        "billing.yaml"),
    Requirement(
        "C2C-BILL-009", Family.BILL, MUST,
        "Approved billable work is on a posted invoice of the first billing run whose cut-off follows its "
        "approval (held work: its release); work approved after a cut-off goes to the next run, and nothing "
        "charged stays uninvoiced.",
        "A charge that never reaches an invoice, or reaches it a month late, is revenue the firm does not collect "
        "when it should: leakage, or a month of extra DSO.",
        "billing.yaml"),
    Requirement(
        "C2C-TRACE-001", Family.TRACE, MUST,
        "Every charge, and so every invoice line, cites its contract, contract version, source item and the "
        "approval that approved exactly what was billed.",
        "An invoice line no auditor can trace to an approval is a SOX finding and a dispute nobody can win.",
        "billing.yaml"),
    Requirement(
        "C2C-TRACE-002", Family.TRACE, SHOULD,
        "Every billed item is written back to the PSA with the invoice that billed it.",
        "Without the write-back, delivery managers re-bill or chase work that was already invoiced.",
        "billing.yaml"),
    Requirement(
        "C2C-SEC-001", Family.SEC, MUST,
        "A webhook not signed with the shared secret is rejected with a 4xx.",
        "Anyone who can reach the endpoint could otherwise inject events into billing.",
        "attacks.yaml", (), WEBHOOKS, True),
    Requirement(
        "C2C-SEC-002", Family.SEC, MUST,
        "A captured webhook replayed once its timestamp is more than 5 minutes old, whether 5½ minutes or two days, "
        "is rejected with a 4xx.",
        "Without a timestamp tolerance a captured message can be replayed forever; with a wide one, for as long as "
        "the tolerance allows.",
        "attacks.yaml", (), WEBHOOKS, True),
    Requirement(
        "C2C-LOAD-001", Family.LOAD, MUST,
        "At a 2,000-consultant firm's peak (at least 250 webhooks in one simulated hour), with the ERP throttling "
        "the connector (429s) while approvals flow, nothing is lost and 95% of approvals reach the ERP within 60 "
        "simulated minutes.",
        "A connector that falls behind on billing day, or puts throttled work off for hours, posts charges after "
        "the cut-off: a month of billing lag.",
        "load.yaml"),
)

BY_ID: dict[str, Requirement] = {requirement.id: requirement for requirement in CATALOG}


def catalog_hash(catalog: tuple[Requirement, ...] = CATALOG) -> str:
    """sha256 of what a certificate is for: the suite version, every requirement, and each scenario as resolved.

    Scenarios are hashed after ``extends:`` is resolved, so an edit to the
    baseline firm they build on changes the hash too; a check's thresholds
    live in code, which the suite version stands for.
    """
    from conformance import SUITE_VERSION
    from conformance.observation import SCENARIOS
    from simulator.scenario import load_scenario

    scenarios = {name: load_scenario(SCENARIOS / name).model_dump(mode="json")
                 for name in sorted({r.scenario for r in catalog})}
    canonical = json.dumps({"suite": SUITE_VERSION, "requirements": [r.to_json() for r in catalog],
                            "scenarios": scenarios}, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
