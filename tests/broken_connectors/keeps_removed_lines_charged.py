"""Keeps removed lines charged: a line an adjustment deletes from an approved timesheet is never reversed.

The real-world bug: on re-approval the connector settles the lines the
timesheet has *now*, and keeps no memory of the lines it had before. A line
the consultant deleted (logged on the wrong project, or twice) keeps its
original charge for ever: hours nobody worked, billed. Every line still on
a sheet is charged right, so a connector tested only with corrections that
change hours passes.
"""

from __future__ import annotations

from typing import Any

from reference_impl.connector import ReferenceConnector
from reference_impl.mappings import Mappings
from reference_impl.settlement import Settlement
from tests.broken_connectors._hooks import require_hooks


class ForgetsEarlierLines(Mappings):
    def recall(self, kind: str, source_id: str) -> Any:
        if kind == "timesheet_lines":
            return None  # DEFECT: the lines a sheet had before are never looked up
        return super().recall(kind, source_id)


class KeepsRemovedLinesChargedConnector(ReferenceConnector):
    name = "broken: lines removed by an adjustment stay charged"

    def __init__(self, runtime: Any) -> None:
        require_hooks(ReferenceConnector, "build_settlement")
        require_hooks(Mappings, "recall")
        super().__init__(runtime)

    def build_settlement(self) -> Settlement:
        return Settlement(self.runtime, self.clients, self.ledger, self.writer, ForgetsEarlierLines(self.storage),
                          self.contracts, self.valuation, self.cadence)


def build(runtime: Any) -> KeepsRemovedLinesChargedConnector:
    return KeepsRemovedLinesChargedConnector(runtime)
