"""What the firm knows first-hand, whatever any connector wrote.

The oracle's expected side must not lean on records the connector under
test creates (PSA projects and milestones, ERP customers and billing
projects): a connector that creates a contract's first milestone only
would otherwise narrow what is expected to what it did. So the firm keeps
its own book, written only by simulated people:

- ``project_contract``: which contract each PSA project's team delivers.
  It is fixed when the firm staffs the project (a project manager knows
  which statement of work the team is on), from the contract the firm
  signed; later edits to the project's ``contract_ref`` move no work.
  A project under a contract reference the firm never signed is never
  staffed, so no work is logged on it.
- ``milestones_accepted``: the contract milestones (contract id, ref) the
  client accepted, and when, whether or not the PSA had a record to
  approve. The contract's schedule (CLM) says which milestones exist.
- ``write_offs``: the hours a PM wrote off a contract's final invoice
  after the client queried them (timesheet line id -> the contract, the
  hours before and the hours kept). The PSA's new sheet version is what
  values the line; the book says why it changed, for the KPIs.

The oracle values work through this book and checks the connector's
copies (the PSA project's ``contract_ref``, the PSA milestones) against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class WriteOff:
    """Hours a PM wrote off one timesheet line of a contract, after the client queried its final invoice."""

    contract_id: str
    hours: Decimal  # logged and approved before the query
    kept: Decimal  # what the client pays for: fewer than ``hours``, at least a quarter hour


@dataclass
class GroundTruth:
    project_contract: dict[str, str] = field(default_factory=dict)  # PSA project -> contract its team delivers
    milestones_accepted: dict[tuple[str, str], str] = field(default_factory=dict)  # (contract, ref) -> ISO time
    milestones_delivered: set[str] = field(default_factory=set)  # contracts whose milestone schedule is under way
    write_offs: dict[str, WriteOff] = field(default_factory=dict)  # timesheet line -> what was written off it

    def staff(self, project_id: str, contract_id: str) -> None:
        """Record, once, which contract a project's team works for."""
        self.project_contract.setdefault(project_id, contract_id)

    def contract_of(self, project_id: str) -> str | None:
        return self.project_contract.get(project_id)

    def projects_of(self, contract_id: str) -> list[str]:
        return sorted(p for p, c in self.project_contract.items() if c == contract_id)
