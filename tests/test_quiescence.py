"""The served firm waits while an external connector works, and only then."""

from __future__ import annotations

import threading
import time

from simulator.quiescence import ConnectorActivity


def activity(**kw) -> ConnectorActivity:
    return ConnectorActivity(quiet_s=kw.pop("quiet_s", 0.02), longest_s=kw.pop("longest_s", 0.5))


def test_a_connector_that_never_worked_is_quiet():
    assert activity().quiet()
    assert activity().await_quiet() < 0.05


def test_a_request_in_flight_holds_the_firm_until_it_ends_and_a_little_after():
    a = activity()
    a.began()
    assert not a.quiet()
    a.ended(201)
    assert not a.quiet()  # it may go on with the answer
    time.sleep(0.03)
    assert a.quiet()


def test_a_429_is_no_work_done():
    a = activity()
    a.began()
    a.ended(429)
    assert a.quiet()  # a throttled connector waits, and waiting takes simulated time


def test_a_connector_spinning_on_429s_does_not_hold_the_firm_until_an_answer_is_not_a_429():
    a = activity()
    a.began()
    a.ended(429)
    a.began()  # retried at once, in flight
    assert a.quiet()  # throttled: the firm must move on for the limit to refill
    a.ended(201)
    a.began()
    assert not a.quiet()  # it got through: what it sends now is work


def test_a_dropped_connection_is_work_the_connector_will_retry():
    a = activity()
    a.began()
    a.ended(0)
    assert not a.quiet()


def test_a_delivered_webhook_holds_the_firm_while_the_connector_starts_on_it():
    a = activity()
    a.delivered()
    assert not a.quiet()
    waited = a.await_quiet()
    assert 0.01 <= waited < 0.3
    assert a.quiet()


def test_a_connector_that_never_stops_holds_the_firm_at_most_longest_s():
    a = activity(longest_s=0.1)
    a.began()  # never ends
    waited = a.await_quiet()
    assert 0.1 <= waited < 0.3
    assert a.held_s == waited


def test_a_firm_in_real_time_never_waits():
    a = activity()
    a.holding = False
    a.began()
    assert a.await_quiet() == 0.0


def test_idle_for_counts_from_the_last_work():
    a = activity()
    a.began()
    assert a.idle_for() == 0.0
    a.ended(200)
    time.sleep(0.02)
    assert 0.015 <= a.idle_for() < 0.5


def test_a_delivery_the_connector_worked_on_while_answering_is_not_waited_after():
    a = activity()
    a.delivering()
    a.began()
    a.ended(201)  # inside its webhook handler
    a.delivered()
    assert a.quiet()  # its work is done: the answer came after it


def test_a_delivery_acknowledged_without_a_call_may_start_work_on_a_queue():
    a = activity()
    a.delivering()
    a.delivered()
    assert not a.quiet()


def test_an_answered_read_that_brought_nothing_is_no_work_but_holds_the_firm_while_in_flight():
    a = activity()
    a.began()
    assert not a.quiet()  # a read in flight may be the start of work
    a.ended(200, "GET", records=False)
    assert a.quiet()  # a poll that found nothing: the firm need not wait after it


def test_a_read_that_brought_something_is_work_the_connector_goes_on_with():
    """A feed poll that found an approval, then the timesheet read, then its contract: the connector is working
    between those requests, and at a certification's speed each wall millisecond of it is simulated minutes."""
    a = activity()
    a.began()
    a.ended(200, "GET", records=True)
    assert not a.quiet()
    time.sleep(0.03)
    assert a.quiet()


def test_reads_while_waiting_for_quota_are_no_work_until_a_write_goes_through():
    """A connector whose ERP writes meet 429s reads the approvals that pile up meanwhile: holding the firm for
    those reads would keep the quota, which refills on the calendar, from refilling."""
    a = activity()
    a.began()
    a.ended(429, "POST")
    a.began()
    a.ended(200, "GET", records=True)
    assert a.quiet()
    a.began()
    a.ended(429, "POST")  # throttled again: still waiting
    a.began()
    a.ended(200, "GET", records=True)
    assert a.quiet()
    a.began()
    a.ended(201, "POST")  # through
    time.sleep(0.03)
    a.began()
    a.ended(200, "GET", records=True)
    assert not a.quiet(), "the quota flows again: what it reads now is work"


def test_a_not_modified_answer_is_no_work():
    a = activity()
    a.began()
    a.ended(304, "GET", records=False)
    assert a.quiet()


def waited_while_repeating(status: int, method: str, every_s: float, records: bool = True) -> float:
    """How long the firm waits for a connector that, for 0.3 s, repeats a request answered ``status`` (each in
    flight 1 ms) every ``every_s``: shorter than the quiet period."""
    a = activity(longest_s=1.0)
    stop = time.monotonic() + 0.3

    def repeat() -> None:
        while time.monotonic() < stop:
            a.began()
            time.sleep(0.001)
            a.ended(status, method, records)
            time.sleep(every_s - 0.001)

    repeater = threading.Thread(target=repeat)
    repeater.start()
    try:
        return a.await_quiet()
    finally:
        repeater.join()


def test_a_connector_polling_on_a_short_cadence_does_not_hold_the_firm():
    assert waited_while_repeating(200, "GET", every_s=0.005, records=False) < 0.1  # a feed poll every 5 ms, empty


def test_a_read_during_a_delivery_is_not_the_connector_working_inside_its_handler():
    a = activity()
    a.delivering()
    a.began()
    a.ended(200, "GET", records=False)  # a concurrent poll
    a.delivered()
    assert not a.quiet()  # the acknowledged work may be starting on a queue


def test_a_dropped_read_is_work_the_connector_will_retry():
    a = activity()
    a.began()
    a.ended(0, "GET")
    assert not a.quiet()


def test_a_refused_write_is_no_work_done():
    for status in (400, 404, 409, 412, 422):
        a = activity()
        a.began()
        assert not a.quiet()  # in flight, it may be accepted
        a.ended(status, "POST")
        assert a.quiet(), status  # refused: nothing changed, and nothing follows from it but a retry


def test_a_connector_retrying_a_refused_write_on_a_short_backoff_does_not_hold_the_firm():
    """At a certification's speed a backoff of simulated minutes is a fraction of a millisecond: a parent the ERP
    refuses (no tax profile yet) is retried all the time, and the firm must still reach the day it is fixed."""
    assert waited_while_repeating(422, "POST", every_s=0.003) < 0.1


def test_a_write_that_went_through_or_may_have_is_work():
    for status in (200, 201, 204, 500, 503, 0, None):
        a = activity()
        a.began()
        a.ended(status, "POST")
        assert not a.quiet(), status


def test_once_the_holds_use_up_the_budget_the_firm_stops_waiting():
    """A connector that writes at every step would keep a certification's run going for hours: with a budget,
    the firm waits for it until the holds add up to the budget, then no more, and says so."""
    a = ConnectorActivity(quiet_s=0.02, longest_s=0.05, budget_s=0.05)
    told: list[float] = []
    a.on_gave_up = told.append
    waits = []
    for _ in range(5):
        a.began()
        a.ended(201)  # wrote again: never quiet
        waits.append(a.await_quiet())
    assert waits[0] >= 0.02 and waits[-1] == 0.0
    assert a.gave_up and not a.holding
    assert 0.05 <= a.held_s < 0.5  # three or so holds, then none
    assert told == [a.held_s]  # told once, when it stopped


def test_without_a_budget_the_firm_waits_at_every_step():
    a = ConnectorActivity(quiet_s=0.02, longest_s=0.02)
    for _ in range(8):
        a.began()
        a.ended(201)
        assert a.await_quiet() >= 0.01
    assert not a.gave_up
