from mocks.core.problems import NotFound


class AccountNotFound(NotFound):
    def __init__(self, account_id: str) -> None:
        super().__init__(f"account {account_id} does not exist", account_id=account_id)
