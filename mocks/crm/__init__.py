"""The mock CRM: accounts (the customer master) and opportunities."""

from mocks.crm.models import CrmBackend
from mocks.crm.urls import build_service

__all__ = ["CrmBackend", "build_service"]
