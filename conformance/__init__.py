"""The c2c conformance suite: ``pytest conformance/`` certifies a connector against the requirement catalog.

Nothing in mocks/, simulator/ or reference_impl/ imports this package; it
drives them from the outside, as a vendor's connector is driven.
"""

SUITE_VERSION = "1.0.0"

DEFAULT_CONNECTOR = "reference_impl.connector:build"  # what the suite certifies without --connector
