"""Every check of the catalog, one module per family, registered on import (see :mod:`.registry`)."""

from conformance.checks import (  # noqa: F401  (registration)
    billing,
    idempotency,
    lineage,
    load,
    ordering,
    rate,
    reconciliation,
    replay,
    security,
    sync,
)
from conformance.checks.registry import CHECKS, CheckContext, run_check

__all__ = ["CHECKS", "CheckContext", "run_check"]
