from mocks.core.problems import Conflict, EntityNotFound, ValidationFailed


class ErpNotFound(EntityNotFound):
    pass


class BillingRunExists(Conflict):
    def __init__(self, legal_entity: str, period: str, run_id: str) -> None:
        super().__init__(f"billing for {legal_entity} period {period} already ran as {run_id}", run_id=run_id)


class InvoiceNotDraft(Conflict):
    def __init__(self, invoice_id: str, status: str) -> None:
        super().__init__(f"invoice {invoice_id} is {status}; posted invoices never change", invoice_id=invoice_id)


class NoTaxProfile(ValidationFailed):
    def __init__(self, jurisdiction: str) -> None:
        super().__init__("tax_jurisdiction", f"no tax profile for jurisdiction {jurisdiction!r}")
