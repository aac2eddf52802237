from mocks.core.problems import Conflict, NotFound


class ContractNotFound(NotFound):
    def __init__(self, contract_id: str) -> None:
        super().__init__(f"contract {contract_id} does not exist", contract_id=contract_id)


class IllegalContractTransition(Conflict):
    def __init__(self, contract_id: str, status: str, action: str) -> None:
        super().__init__(
            f"contract {contract_id} is {status}; cannot {action}", contract_id=contract_id, current_status=status
        )


class AmendmentNotFound(NotFound):
    def __init__(self, amendment_id: str) -> None:
        super().__init__(f"amendment {amendment_id} does not exist", amendment_id=amendment_id)
