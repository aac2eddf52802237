"""The requirement catalog: the one list the checks, the report and CONFORMANCE.md all read.

A requirement is a promise a connector makes about money: an
ID that never changes meaning, a family, an RFC 2119 level, one sentence,
why it matters in money, and the scenario and faults that exercise it.
Changing any of that changes the catalog hash
(:func:`conformance.catalog_hash.catalog_hash`), so a published report says
exactly which catalog it was certified against.

``needs`` names a capability the requirement exercises. A connector that
declares it lacks the capability gets *not applicable* only where
``optional`` says the catalog allows it (a firm that never signs retainers
need not bill them); anywhere else the requirement is *skipped*, and a skip
blocks certification.

The catalog is pure data: it imports nothing from conformance/ or
simulator/, so any module may import it.
"""

from __future__ import annotations

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
# Not declared but given: a connector certified as a process (--connector-cmd) runs over real HTTP; a factory
# certified in process does not, and what only a real load over HTTP shows is not applicable to it.
PROCESS = "process"
BILLING_TYPE_OF = {RETAINERS: "retainer", MILESTONES: "fixed_fee_milestones", CAPS: "capped_tm"}


@dataclass(frozen=True, kw_only=True)
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
    # The statement's bound, in simulated hours, where the connector meets it on its own timers (a change-feed
    # poll), not in work the firm waits for: served over HTTP the calendar cannot wait for a timer, so a black-box
    # run of the scenario goes slow enough that the bound spans wall time (conformance.observation.served_speed).
    timer_bound_h: float | None = None

    def to_json(self) -> dict:
        return {**asdict(self), "family": str(self.family), "level": str(self.level), "faults": list(self.faults)}


MUST, SHOULD = Level.MUST, Level.SHOULD

CATALOG: tuple[Requirement, ...] = (
    Requirement(
        id="C2C-IDEMP-001", family=Family.IDEMP, level=MUST,
        statement="A webhook delivered more than once creates nothing twice in the ERP.",
        money="Senders deliver at least once; every duplicate a connector acts on again is a charge billed twice.",
        scenario="duplicates.yaml", faults=("webhook_duplicate",)),
    Requirement(
        id="C2C-IDEMP-002", family=Family.IDEMP, level=MUST,
        statement="A write whose response was lost after the ERP committed it, then retried, creates nothing twice.",
        money="A timeout after commit is indistinguishable from a failure; a retry without an idempotency key books "
              "the batch again.",
        scenario="lost_responses.yaml", faults=("lost_response", "timeout", "latency", "connection_reset")),
    Requirement(
        id="C2C-IDEMP-003", family=Family.IDEMP, level=MUST,
        statement="Every event redelivered from cursor 0 after quiescence changes nothing in the ERP.",
        money="Replays happen (a sender's resend-all, a cursor reset after a restore); acting on old events again "
              "re-bills months of work.",
        scenario="replay_all.yaml", faults=("redeliver_all",)),
    Requirement(
        id="C2C-ORDER-001", family=Family.ORDER, level=MUST,
        statement="Whatever order webhooks arrive in, the ERP ends up holding what the final source state says.",
        money="Queues and retries reorder events; a connector that trusts arrival order drops or mis-prices work.",
        scenario="delivery_order.yaml", faults=("webhook_delay", "webhook_duplicate")),
    Requirement(
        id="C2C-ORDER-002", family=Family.ORDER, level=MUST,
        statement="An older version of a record never overwrites a newer one in the ERP.",
        money="A stale customer address or tax id sends invoices to the wrong place with the wrong tax.",
        scenario="stale_versions.yaml", faults=("webhook_delay", "server_error", "concurrent_edit")),
    Requirement(
        id="C2C-ORDER-003", family=Family.ORDER, level=MUST,
        statement="Work that arrives before its parent is set up (a timesheet before its contract's billing project) is "
                  "billed once the parent exists.",
        money="Children that are dropped because their parent was late are revenue that is never invoiced.",
        scenario="children_first.yaml", faults=("poison_missing_tax_profile",)),
    Requirement(
        id="C2C-REPLAY-001", family=Family.REPLAY, level=MUST,
        statement="A message that cannot be processed is set aside without holding up the others: every contract set-up "
                  "and approval that no poison touches still reaches the ERP within 4 simulated hours.",
        money="One bad record that blocks the queue delays every customer's invoice behind it.",
        scenario="poison.yaml", faults=("poison_unknown_role", "poison_missing_tax_profile", "poison_unknown_project")),
    Requirement(
        id="C2C-REPLAY-002", family=Family.REPLAY, level=MUST,
        statement="Once the bad source data is fixed, dead-lettered messages are replayed and the ERP converges.",
        money="A message discarded after its last retry is work that is never billed.",
        scenario="poison.yaml", faults=("poison_unknown_role", "poison_missing_tax_profile", "poison_unknown_project")),
    Requirement(
        id="C2C-REPLAY-003", family=Family.REPLAY, level=MUST,
        statement="A crash at any moment (at random, right after a committed write, or between acknowledging a webhook and "
                  "finishing its work) and the restart from durable state lose nothing and duplicate nothing, and whatever "
                  "the connector had been sent before it went down is in the ERP and the PSA within 1 hour of its restart.",
        money="State held only in memory is lost at the first deploy or OOM kill: work unbilled, or billed twice.",
        scenario="crashes.yaml", faults=("connector_crash", "process_killed", "connector_downtime"), needs=DURABLE_STATE),
    Requirement(
        id="C2C-RECON-001", family=Family.RECON, level=MUST,
        statement="After a fault storm and quiescence, the ERP equals the oracle to the minor unit.",
        money="Every fault of the catalog at once is an ordinary month in production; any residue is leakage or "
              "over-billing.",
        scenario="fault_storm.yaml", faults=("server_error", "outage", "lost_response", "webhook_drop", "connector_crash")),
    Requirement(
        id="C2C-RECON-002", family=Family.RECON, level=MUST,
        statement="An approval whose webhook never arrives reaches the ERP within 24 simulated hours, from the change feed.",
        money="Webhooks get lost; a connector that only listens never bills what it did not hear about.",
        scenario="dropped_webhooks.yaml", faults=("webhook_drop", "endpoint_down"), timer_bound_h=24),
    Requirement(
        id="C2C-RECON-003", family=Family.RECON, level=MUST,
        statement="When the change feed has expired the connector's cursor (410), it resynchronises and misses nothing.",
        money="After a long outage the feed no longer holds the gap; a connector that resumes from 'now' loses it.",
        scenario="feed_retention.yaml", faults=("webhook_drop", "endpoint_down")),
    Requirement(
        id="C2C-RECON-004", family=Family.RECON, level=SHOULD,
        statement="Charges reversed by hand in the ERP are found and repaired by the next monthly reconciliation.",
        money="A finance user's manual reversal of a valid charge is revenue lost until someone notices.",
        scenario="drift.yaml", faults=("manual_reversal",)),
    Requirement(
        id="C2C-SYNC-001", family=Family.SYNC, level=MUST,
        statement="Every source change that reaches the connector is in the ERP and the PSA within 1 simulated hour, or "
                  "within 1 hour of the connector's restart when a crash, kill or downtime interrupted that hour, on a day "
                  "without faults and under crashes: an account's master data in its ERP customer, a signed contract as its "
                  "billing project and PSA project, an approval as a charge citing it, a timesheet re-opened for correction "
                  "as the reversal of its charges.",
        money="A customer, project or charge missing for days is invoiced a run late or to an old address, even when a "
              "later resync or the monthly reconciliation repairs the ledger by the end.",
        scenario="crashes.yaml",
        faults=("connector_crash", "process_killed", "connector_downtime"), needs=WEBHOOKS, optional=True),
    Requirement(
        id="C2C-RATE-001", family=Family.RATE, level=MUST,
        statement="After a 429 with Retry-After, the connector sends that system nothing before the time it was given, "
                  "and being throttled costs no money.",
        money="Retrying early burns the quota, gets the integration throttled for longer, and delays every invoice.",
        scenario="rate_limits.yaml"),
    Requirement(
        id="C2C-BILL-001", family=Family.BILL, level=MUST,
        statement="On a capped contract billed plus held equals approved value, billed never exceeds the cap, and held "
                  "work is released oldest work date first (ties by item) whenever headroom appears.",
        money="Billing above a cap is a dispute; never releasing held work after a cap raise is leakage.",
        scenario="billing.yaml", needs=CAPS, optional=True),
    Requirement(
        id="C2C-BILL-002", family=Family.BILL, level=MUST,
        statement="Each approved timesheet line is charged hours × the rate in effect on its work date, and each approved "
                  "expense its cost plus markup.",
        money="The wrong rate on every line is the most common billing error there is.",
        scenario="billing.yaml"),
    Requirement(
        id="C2C-BILL-003", family=Family.BILL, level=MUST,
        statement="A retroactive rate amendment re-prices work already charged, back to its effective date.",
        money="Ignoring a retro amendment under-bills (or over-bills) every hour since its effective date.",
        scenario="amendments.yaml"),
    Requirement(
        id="C2C-BILL-004", family=Family.BILL, level=MUST,
        statement="Each milestone of the contract's schedule gets a PSA milestone, and each one the client accepted is "
                  "charged once, at its amount in the final contract version.",
        money="A milestone billed twice is a five-figure dispute.",
        scenario="billing.yaml", needs=MILESTONES, optional=True),
    Requirement(
        id="C2C-BILL-005", family=Family.BILL, level=MUST,
        statement="Each retainer is charged its monthly fee once for every period opened within its term.",
        money="A missed retainer period is a month of fees never invoiced.",
        scenario="billing.yaml", needs=RETAINERS, optional=True),
    Requirement(
        id="C2C-BILL-006", family=Family.BILL, level=MUST,
        statement="A timesheet adjusted after approval or invoicing is re-charged to its final approved hours.",
        money="Dropped adjustments bill hours nobody worked, or leave corrected hours unbilled.",
        scenario="billing.yaml"),
    Requirement(
        id="C2C-BILL-007", family=Family.BILL, level=MUST,
        statement="Amounts are rounded half-up to the currency's minor unit (none for JPY).",
        money="One-cent differences are the disputes that cost the most to investigate.",
        scenario="billing.yaml"),
    Requirement(
        id="C2C-BILL-008", family=Family.BILL, level=MUST,
        statement="Each CRM account is exactly one ERP customer, with the account's master data and tax profile, and each "
                  "signed contract one billing project for that customer, under the contract's legal entity, currency "
                  "and payment terms, and one PSA project that names it.",
        money="Invoices to the wrong customer, from the wrong entity or at the wrong tax rate are reissued, and paid "
              "late; invoices on the wrong terms fall due on the wrong day.",
        scenario="billing.yaml"),
    Requirement(
        id="C2C-BILL-009", family=Family.BILL, level=MUST,
        statement="Approved billable work is on a posted invoice of the first billing run whose cut-off follows its "
                  "approval (held work: its release); work approved after a cut-off goes to the next run, and nothing "
                  "charged stays uninvoiced.",
        money="A charge that never reaches an invoice, or reaches it a month late, is revenue the firm does not collect "
              "when it should: leakage, or a month of extra DSO.",
        scenario="billing.yaml"),
    Requirement(
        id="C2C-TRACE-001", family=Family.TRACE, level=MUST,
        statement="Every charge, and so every invoice line, cites its contract, contract version, source item and the "
                  "approval that approved exactly what was billed.",
        money="An invoice line no auditor can trace to an approval is a SOX finding and a dispute nobody can win.",
        scenario="billing.yaml"),
    Requirement(
        id="C2C-TRACE-002", family=Family.TRACE, level=SHOULD,
        statement="Every billed item is written back to the PSA with the invoice that billed it.",
        money="Without the write-back, delivery managers re-bill or chase work that was already invoiced.",
        scenario="billing.yaml"),
    Requirement(
        id="C2C-SEC-001", family=Family.SEC, level=MUST,
        statement="A webhook not signed with the shared secret is rejected with a 4xx.",
        money="Anyone who can reach the endpoint could otherwise inject events into billing.",
        scenario="attacks.yaml", needs=WEBHOOKS, optional=True),
    Requirement(
        id="C2C-SEC-002", family=Family.SEC, level=MUST,
        statement="A captured webhook replayed once its timestamp is more than 5 minutes old, whether 5½ minutes or two days, "
                  "is rejected with a 4xx.",
        money="Without a timestamp tolerance a captured message can be replayed forever; with a wide one, for as long as "
              "the tolerance allows.",
        scenario="attacks.yaml", needs=WEBHOOKS, optional=True),
    Requirement(
        id="C2C-LOAD-001", family=Family.LOAD, level=MUST,
        statement="At a 2,000-consultant firm's peak (at least 250 webhooks in one simulated hour), with the ERP throttling "
                  "the connector (429s) while approvals flow, nothing is lost and 95% of approvals reach the ERP within 60 "
                  "simulated minutes.",
        money="A connector that falls behind on billing day, or puts throttled work off for hours, posts charges after "
              "the cut-off: a month of billing lag.",
        scenario="load.yaml"),
    Requirement(
        id="C2C-LOAD-002", family=Family.LOAD, level=MUST,
        statement="Loaded over real HTTP at the stated rate of timesheet approvals through the PSA's API (20 a second "
                  "for 30 s unless the run states another), nothing is lost or billed twice and 95% of approvals reach "
                  "the ERP within 30 s.",
        money="A connector that keeps up with a simulated firm but not with a real Friday afternoon falls behind for "
              "hours: charges land after the cut-off, or never.",
        scenario="approvals_under_load.yaml", needs=PROCESS, optional=True),
)

BY_ID: dict[str, Requirement] = {requirement.id: requirement for requirement in CATALOG}
