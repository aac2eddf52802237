from mocks.core.problems import Conflict, EntityNotFound


class PsaNotFound(EntityNotFound):
    pass


class IllegalTimesheetTransition(Conflict):
    kind = "illegal_transition"
    title = "Illegal timesheet transition"

    def __init__(self, timesheet_id: str, status: str, action: str) -> None:
        super().__init__(
            f"timesheet {timesheet_id} is {status}; cannot {action}", timesheet_id=timesheet_id, current_status=status
        )


class DuplicateProject(Conflict):
    def __init__(self, contract_ref: str, project_id: str) -> None:
        super().__init__(
            f"a project for contract {contract_ref} already exists: {project_id}",
            contract_ref=contract_ref, existing_id=project_id,
        )


class IllegalTransition(Conflict):
    kind = "illegal_transition"
    title = "Illegal transition"

    def __init__(self, entity: str, entity_id: str, status: str, action: str) -> None:
        super().__init__(f"{entity} {entity_id} is {status}; cannot {action}", entity_id=entity_id,
                         current_status=status)
