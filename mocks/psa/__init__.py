"""The mock PSA: projects, resources, assignments and weekly timesheets."""

from mocks.psa.models import PsaBackend
from mocks.psa.urls import build_service

__all__ = ["PsaBackend", "build_service"]
