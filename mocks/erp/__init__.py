"""The mock ERP: customers, billing projects, the unbilled charge ledger,
monthly billing runs, invoices with gapless numbers, and payments."""

from mocks.erp.models import ErpBackend
from mocks.erp.urls import build_service

__all__ = ["ErpBackend", "build_service"]
