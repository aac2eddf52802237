"""Delivery: staffing, weekly timesheets, expenses, milestones and approvals.

The firm staffs a contract once it is signed: hours later it picks the
team from the consultants free at the contract's start, and the team
delivers the contract's milestones on their planned dates. The team can
log time only once the PSA project exists, which happens once the
connector has turned the signed contract into one; the time in between is
the project-setup KPI. What the firm decides never depends on the
connector's timing or on ids the systems assign: its random streams are
keyed by business keys (contract, consultant and week), so the same work
happens with or without faults and a fault-free companion run can be
compared item by item. Consultants submit their week on Friday afternoon
(some on Monday, after the fact), approvers take hours to days, and a
rejected sheet comes back corrected. Some approved sheets are corrected
weeks later (sometimes after they were invoiced) and must be approved
again. Hours on fixed-fee and retainer work are logged as non-billable;
those contracts bill by milestone or by month. Work after the scenario's
end is not entered, so the run settles.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from mocks.core.clock import iso
from mocks.core.feed import ChangeEvent
from mocks.psa.models import LineSpec
from simulator.firm.context import DAY, HOUR, Consultant, FirmContext, Team, quarter_hours
from simulator.scenario import CURRENCY_MINOR_UNITS
from simulator.truth import WriteOff


def hire(ctx: FirmContext) -> None:
    """Create the consultants as PSA resources, roles split by the scenario's shares."""
    roles = ctx.scenario.firm.roles
    rng = ctx.streams.get("hiring")
    total = sum(r.share for r in roles)
    start = ctx.scenario.start
    for _ in range(ctx.scenario.firm.consultants):
        role = rng.choices(roles, weights=[r.share / total for r in roles])[0]
        resource = ctx.systems.psa.add_resource(ctx.faker.name(), role.name)
        ctx.consultants.append(Consultant(resource.id, role.name, start - dt.timedelta(days=1)))


def plan_team(ctx: FirmContext, contract_id: str):
    """A SimPy process: staff a signed contract; the team joins its PSA project as soon as there is one."""
    rng = ctx.streams.get("staffing", contract_id)
    people = ctx.scenario.people
    yield ctx.env.timeout(rng.uniform(*people.staffing_delay_hours) * HOUR)
    _start_milestones(ctx, contract_id)
    terms = ctx.systems.clm.contracts[contract_id].terms
    start, end = dt.date.fromisoformat(terms.start_date), dt.date.fromisoformat(terms.end_date)
    wanted = rng.randint(*ctx.scenario.contracts.team_size)
    while True:
        begin = max(start, ctx.clock.today())
        if begin > end - dt.timedelta(days=7) or ctx.env.now >= ctx.horizon:
            return
        free = [c for c in ctx.consultants if c.busy_until < begin]
        if free:
            team = rng.sample(free, min(wanted, len(free)))
            for consultant in team:
                consultant.busy_until = end
            ctx.teams[contract_id] = Team([c.resource_id for c in team], end)
            projects = ctx.truth.projects_of(contract_id)
            if projects:
                _join(ctx, contract_id, projects[0])
            return
        yield ctx.env.timeout(DAY)


def staff_project(ctx: FirmContext, project_id: str):
    """A SimPy process: a PSA project appeared; the firm's book records which contract it is for, the team joins it.

    It runs once whoever created the project is done (a PM who set it up by
    hand notes which contract it is for right after creating it).
    """
    yield ctx.env.timeout(0)
    contract_id = _contract_delivered_by(ctx, project_id)
    if contract_id is None:
        return  # a project under a contract the firm never signed: nobody is staffed on it
    ctx.truth.staff(project_id, contract_id)
    if contract_id in ctx.teams and ctx.truth.projects_of(contract_id)[0] == project_id:
        _join(ctx, contract_id, project_id)


def _join(ctx: FirmContext, contract_id: str, project_id: str) -> None:
    """The contract's team starts logging time on the project, from today (or the contract's start) to its end."""
    team = ctx.teams[contract_id]
    if team.project_id is not None:
        return
    team.project_id = project_id
    start = dt.date.fromisoformat(ctx.systems.clm.contracts[contract_id].terms.start_date)
    begin = max(start, ctx.clock.today())
    if begin > team.end:
        return
    consultants = {c.resource_id: c for c in ctx.consultants}
    for resource_id in team.members:
        ctx.systems.psa.assign(resource_id, project_id, begin.isoformat(), team.end.isoformat())
        consultants[resource_id].assignments.append((project_id, begin, team.end))


def _contract_delivered_by(ctx: FirmContext, project_id: str) -> str | None:
    """The contract a project's team will work for, as the project manager knows it.

    A project a PM set up by hand is for the contract the PM had in mind,
    whatever reference was typed; any other is for the contract its
    reference names, if that is a contract the firm signed.
    """
    if project_id in ctx.hand_made_projects:
        return ctx.hand_made_projects[project_id]
    contract = ctx.systems.clm.contracts.get(ctx.systems.psa.projects[project_id].contract_ref)
    return contract.id if contract is not None and contract.signed_at else None


def _start_milestones(ctx: FirmContext, contract_id: str) -> None:
    """Once per fixed-fee contract: the team delivers every milestone of the contract's schedule."""
    contract = ctx.systems.clm.contracts[contract_id]
    if contract.billing_type != "fixed_fee_milestones" or contract_id in ctx.truth.milestones_delivered:
        return
    ctx.truth.milestones_delivered.add(contract_id)
    for term in contract.terms.milestones:
        ctx.env.process(deliver_milestone(ctx, contract_id, term.ref, term.planned_date))


BILLS_BY_THE_HOUR = ("time_and_materials", "capped_tm")


def billing_type_of(ctx: FirmContext, project_id: str) -> str:
    """What the consultants know about their project, whatever contract reference the PSA holds."""
    return ctx.systems.clm.contracts[ctx.truth.contract_of(project_id)].billing_type


def _week_lines(ctx: FirmContext, rng: random.Random, consultant: Consultant, monday: dt.date) -> list[LineSpec]:
    people = ctx.scenario.people
    psa = ctx.systems.psa
    lines = []
    for offset in range(5):
        day = monday + dt.timedelta(days=offset)
        if day >= ctx.scenario.end:
            break
        for project_id, begin, end in consultant.assignments:
            if begin <= day <= end:
                tasks = psa.projects[project_id].tasks  # one draw whatever their number (the connector made them)
                task = tasks[min(len(tasks) - 1, int(rng.random() * len(tasks)))]
                billable = rng.random() >= people.non_billable_share
                lines.append(LineSpec(_day_text(day), project_id, task.id, consultant.role,
                                      _hours(quarter_hours(rng.uniform(*people.hours_per_day))),
                                      billable and billing_type_of(ctx, project_id) in BILLS_BY_THE_HOUR))
                break
    return lines


# A year of a large firm logs close to half a million lines, each with a work date and hours that thousands of
# other lines share: each distinct value is made once (values, never identities, are what anything compares).
_DAY_TEXT: dict[dt.date, str] = {}
_HOURS: dict[str, Decimal] = {}


def _day_text(day: dt.date) -> str:
    text = _DAY_TEXT.get(day)
    if text is None:
        text = _DAY_TEXT[day] = day.isoformat()
    return text


def _hours(text: str) -> Decimal:
    hours = _HOURS.get(text)
    if hours is None:
        hours = _HOURS[text] = Decimal(text)
    return hours


def consultant_weeks(ctx: FirmContext, consultant: Consultant):
    rng = ctx.streams.get("consultant", consultant.resource_id)
    people = ctx.scenario.people
    monday = ctx.scenario.start - dt.timedelta(days=ctx.scenario.start.weekday())
    while monday < ctx.scenario.end:
        friday = monday + dt.timedelta(days=4)
        if rng.random() < people.late_submission_share:
            when = ctx.clock.at(friday + dt.timedelta(days=3), 9 + rng.uniform(0, 3))
        else:
            when = ctx.clock.at(friday, 15 + rng.uniform(0, 4))
        yield ctx.wait_until(when)
        lines = _week_lines(ctx, rng, consultant, monday)
        if lines:
            psa = ctx.systems.psa
            timesheet = psa.create_timesheet(consultant.resource_id, monday.isoformat(), lines)
            consultant.sheets.append(timesheet.id)
            psa.submit(timesheet.id)
            hourly = [line for line in lines if billing_type_of(ctx, line.project_id) in BILLS_BY_THE_HOUR]
            if hourly and rng.random() < people.expenses_per_week:
                _file_expense(ctx, rng, consultant, hourly[-1])
        monday += dt.timedelta(days=7)


def _file_expense(ctx: FirmContext, rng: random.Random, consultant: Consultant, line: LineSpec) -> None:
    contract = ctx.systems.clm.contracts[ctx.truth.contract_of(line.project_id)]
    cheapest = min(role.rates[contract.currency] for role in ctx.scenario.firm.roles)
    cost = Decimal(str(rng.uniform(*ctx.scenario.people.expense_cost_hours))) * cheapest
    minor = int(cost * 10 ** CURRENCY_MINOR_UNITS[contract.currency])
    expense = ctx.systems.psa.submit_expense(
        resource_id=consultant.resource_id, project_id=line.project_id, date=line.date,
        description=rng.choice(["Travel", "Hotel", "Meals", "Rail fare", "Software licence"]),
        cost=max(1, minor), currency=contract.currency, billable=rng.random() < 0.9)
    ctx.env.process(review_expense(ctx, expense.id))


def review_expense(ctx: FirmContext, expense_id: str):
    expense = ctx.systems.psa.expenses[expense_id]
    rng = ctx.streams.get("expense", expense.resource_id, expense.date)
    yield ctx.env.timeout(rng.uniform(*ctx.scenario.people.approval_delay_hours) * HOUR)
    if ctx.at_rest:
        return
    action = "reject" if rng.random() < ctx.scenario.people.expense_rejection_rate else "approve"
    ctx.systems.psa.decide_expense(expense_id, action, approver="manager")


def _corrected(rng: random.Random, lines, removes_line: float = 0.0) -> list[LineSpec]:
    """A consultant's fix (after a rejection, or of an approved sheet): one line's hours change by up to an hour;
    or, with chance ``removes_line`` (drawn only when it is not 0, so a scenario without it draws what it always
    drew), the sheet's last line, logged by mistake, is deleted."""
    specs = [LineSpec(x.date, x.project_id, x.task_id, x.role, x.hours, x.billable) for x in lines]
    if removes_line and len(specs) > 1 and rng.random() < removes_line:
        return specs[:-1]
    i = rng.randrange(len(specs))
    delta = Decimal(rng.choice(["-1", "-0.5", "-0.25", "0.25", "0.5", "1"]))
    hours = min(Decimal(12), max(Decimal("0.25"), specs[i].hours + delta))
    old = specs[i]
    specs[i] = LineSpec(old.date, old.project_id, old.task_id, old.role, hours, old.billable)
    return specs


def review(ctx: FirmContext, timesheet_id: str):
    # One stream per review of one version: a second review (after an adjustment) must not replay the first's draws.
    sheet = ctx.systems.psa.timesheets[timesheet_id]
    rng = ctx.streams.get("approval", sheet.resource_id, sheet.week_start, str(sheet.version))
    people = ctx.scenario.people
    psa = ctx.systems.psa
    while True:
        yield ctx.env.timeout(rng.uniform(*people.approval_delay_hours) * HOUR)
        timesheet = psa.timesheets[timesheet_id]
        if timesheet.status != "submitted" or ctx.at_rest:
            return
        if rng.random() >= people.rejection_rate:
            psa.approve(timesheet_id, approver="manager")
            if rng.random() < people.adjustment_rate:
                ctx.env.process(adjust(ctx, timesheet_id))
            return
        psa.reject(timesheet_id, "hours do not match the plan")
        yield ctx.env.timeout(rng.uniform(*people.resubmit_delay_hours) * HOUR)
        if ctx.at_rest:
            return
        psa.edit(timesheet_id, _corrected(rng, timesheet.lines))
        psa.submit(timesheet_id)


def adjust(ctx: FirmContext, timesheet_id: str):
    """A correction to an approved sheet, weeks later: a new version that needs approval again."""
    sheet = ctx.systems.psa.timesheets[timesheet_id]
    rng = ctx.streams.get("adjustment", sheet.resource_id, sheet.week_start, str(sheet.version))
    yield ctx.env.timeout(rng.uniform(*ctx.scenario.people.adjustment_delay_days) * DAY)
    psa = ctx.systems.psa
    timesheet = psa.timesheets[timesheet_id]
    if timesheet.status != "approved" or ctx.env.now >= ctx.horizon:
        return
    invoiced = any(line.billing_status == "billed" for line in timesheet.lines)
    psa.edit(timesheet_id, _corrected(rng, timesheet.lines, ctx.scenario.people.adjustment_removes_line))
    ctx.observe("adjustments", {"timesheet": timesheet_id, "after_invoice": invoiced})


def write_off(ctx: FirmContext, contract_id: str):
    """A client queries the hours on a contract's final invoice, and the PM writes part of them off.

    Days after the billing run that followed the contract's end, the PM
    cuts the hours of one billable line the team logged on the contract's
    project, on a sheet already approved (so most likely invoiced), to a
    quarter to three quarters of what they were; the sheet is a new
    version and goes through approval again. Its charges must then be
    reversed and the line charged afresh: with no new work on the contract,
    its next billing run nets negative, which the ERP issues as a credit
    note. Drawn per contract (``final_invoice_write_offs``), from a stream
    of its own, so the draw and the line chosen never depend on the
    connector.
    """
    people = ctx.scenario.people
    rng = ctx.streams.get("write_off", contract_id)
    if rng.random() >= people.final_invoice_write_offs:
        return
    yield ctx.env.timeout(rng.uniform(*people.write_off_delay_days) * DAY)
    team = ctx.teams[contract_id]
    if ctx.env.now >= ctx.horizon or team.project_id is None:
        return
    psa = ctx.systems.psa
    consultants = {c.resource_id: c for c in ctx.consultants}
    sheets = (psa.timesheets[sheet_id] for member in team.members for sheet_id in consultants[member].sheets)
    candidates = [(sheet, position) for sheet in sheets if sheet.status == "approved"
                  for position, line in enumerate(sheet.lines)
                  if line.project_id == team.project_id and line.billable and line.hours >= Decimal("0.5")]
    if not candidates:
        return
    sheet, position = rng.choice(candidates)
    specs = [LineSpec(x.date, x.project_id, x.task_id, x.role, x.hours, x.billable) for x in sheet.lines]
    queried = specs[position]
    kept = min(queried.hours - Decimal("0.25"), max(Decimal("0.25"), Decimal(quarter_hours(
        float(queried.hours) * rng.uniform(0.25, 0.75)))))
    specs[position] = LineSpec(queried.date, queried.project_id, queried.task_id, queried.role, kept, queried.billable)
    ctx.truth.write_offs[sheet.lines[position].id] = WriteOff(contract_id, queried.hours, kept)
    psa.edit(sheet.id, specs)


def _psa_milestone(ctx: FirmContext, contract_id: str, ref: str):
    """The PSA's record of a contract milestone, on one of the contract's projects, if the PSA has one."""
    projects = set(ctx.truth.projects_of(contract_id))
    return next((m for m in ctx.systems.psa.milestones.values() if m.project_id in projects and m.ref == ref), None)


def deliver_milestone(ctx: FirmContext, contract_id: str, ref: str, planned_date: str):
    """The team completes a deliverable around its planned date; the client accepts it days later.

    The client accepts the deliverable whether or not the PSA holds a
    milestone to record it on (the firm's book keeps the acceptance); the
    PM records completion and acceptance on the PSA milestone when there is one.
    """
    rng = ctx.streams.get("milestone", contract_id, ref)
    planned = dt.date.fromisoformat(planned_date)
    yield ctx.wait_until(ctx.clock.at(planned + dt.timedelta(days=rng.randint(-2, 5)), 16))
    if ctx.env.now >= ctx.horizon:
        return
    psa = ctx.systems.psa
    record = _psa_milestone(ctx, contract_id, ref)
    if record is not None and record.status == "planned":
        psa.advance_milestone(record.id, "complete", approver="project_manager")
    yield ctx.env.timeout(rng.uniform(*ctx.scenario.people.milestone_approval_days) * DAY)
    if ctx.at_rest:
        return
    ctx.truth.milestones_accepted[(contract_id, ref)] = iso(ctx.clock.now())
    record = _psa_milestone(ctx, contract_id, ref)
    if record is not None and record.status == "planned":  # the PSA record appeared late: completed now
        psa.advance_milestone(record.id, "complete", approver="project_manager")
    if record is not None and record.status == "completed":
        psa.advance_milestone(record.id, "approve", approver="client")


def watch_psa(ctx: FirmContext, event: ChangeEvent) -> None:
    """React to PSA changes the way the firm's people would notice them."""
    if event.type == "psa.project.created":
        ctx.env.process(staff_project(ctx, event.entity_id))
    elif event.type in ("psa.timesheet.created", "psa.timesheet.adjusted"):
        ctx.env.process(review(ctx, event.entity_id))
