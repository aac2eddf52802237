"""The catalog hash a report and CONFORMANCE.md carry: the suite, catalog and scenarios a certificate is for."""

from __future__ import annotations

import hashlib
import json

from conformance import SUITE_VERSION
from conformance.catalog import CATALOG, Requirement
from conformance.observation import SCENARIOS
from simulator.scenario import load_scenario


def catalog_hash(catalog: tuple[Requirement, ...] = CATALOG) -> str:
    """sha256 of what a certificate is for: the suite version, every requirement, and each scenario as resolved.

    Scenarios are hashed after ``extends:`` is resolved, so an edit to the
    baseline firm they build on changes the hash too; a check's thresholds
    live in code, which the suite version stands for.
    """
    scenarios = {name: load_scenario(SCENARIOS / name).model_dump(mode="json")
                 for name in sorted({r.scenario for r in catalog})}
    canonical = json.dumps({"suite": SUITE_VERSION, "requirements": [r.to_json() for r in catalog],
                            "scenarios": scenarios}, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
