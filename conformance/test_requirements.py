"""One test per requirement of the catalog, in the chosen profile: the whole suite a vendor runs.

The tests hold no logic of their own: each asks the session's
certification to evaluate its requirement (capabilities, the registered
check, the evidence), so the catalog, the checks and the report stay the
single source of truth.
"""

from conformance.catalog import Requirement
from conformance.certification import Certification


def test_requirement(requirement: Requirement, certification: Certification, record_property) -> None:
    certification.evaluate(requirement, record_property)
