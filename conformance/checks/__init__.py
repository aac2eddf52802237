"""Every check of the catalog, registered on import (see :mod:`conformance.checks.registry`)."""

from conformance.checks import billing, faults, load, ordering, rate, security  # noqa: F401  (registration)
from conformance.checks.registry import CHECKS, CheckContext, run_check

__all__ = ["CHECKS", "CheckContext", "run_check"]
