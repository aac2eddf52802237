"""One test per requirement of the catalog, in the chosen profile: the whole suite a vendor runs.

The tests hold no logic of their own: each asks the session's
certification to evaluate its requirement (capabilities, the registered
check, the evidence), so the catalog, the checks and the report stay the
single source of truth.
"""

import pytest

from conformance.catalog import Requirement
from conformance.certification import Certification


def test_requirement(requirement: Requirement, certification: Certification, request: pytest.FixtureRequest) -> None:
    # The requirement's id, level, family and seed go on the test's report (the suite reads them back, and the
    # JUnit file carries them as properties whatever its junit_family; ``record_property`` would warn under xunit2).
    certification.evaluate(requirement, lambda name, value: request.node.user_properties.append((name, value)))
