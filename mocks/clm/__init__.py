"""The mock CLM: contracts (SOWs) with versioned commercial terms."""

from mocks.clm.models import ClmBackend
from mocks.clm.urls import build_service

__all__ = ["ClmBackend", "build_service"]
