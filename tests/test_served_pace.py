"""Served mode's pace: a rate limit within a connector's reach, and a late firm that slips rather than races.

A scenario's limit is per simulated second, and a served firm runs about
150,000 simulated seconds per wall second: the ERP's 0.1 requests a second
would refill a token every 66 wall microseconds, far faster than any
connector's round trip. Two things keep the limit meaningful over HTTP:

- the calendar slows while a limit refuses someone (:class:`ThrottledPace`),
  to the speed at which that limit refills a token per cadence of the
  client it refuses (the gap between its requests, at least a couple of
  wall milliseconds), and resumes its speed once the 429s stop;
- the limit refills on where the calendar stands on its wall schedule
  (:meth:`ServedEnvironment.paced_now`), not on the last event's time: in a
  quiet stretch a firm's events are hours apart, and a connector waiting out
  a 429 on its own timer found the bucket as empty as it left it.

And when the firm runs late (a busy machine), it makes up only a little of
it and lets the calendar slip by the rest, so a connector's wall-clock
timers keep their simulated meaning.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time

import pytest
import simpy

from mocks.core.ratelimit import RateLimited, RateLimiter
from simulator.served import ServedEnvironment
from simulator.throttled_pace import ThrottledPace


class Clock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def refused_once(per_second: float, at: Clock) -> RateLimiter:
    limiter = RateLimiter(Clock(), per_second, burst=1)
    limiter.tell_wait_on(at, speed=1000.0)
    limiter.admit("c")
    try:
        limiter.admit("c")
    except RateLimited:
        return limiter
    raise AssertionError("a burst of 1 refuses the second request at one instant")


def test_the_pace_is_unbounded_until_a_limit_refuses_and_again_once_it_stops() -> None:
    wall = Clock(100.0)
    limiter = RateLimiter(Clock(), 0.1, burst=2)
    limiter.tell_wait_on(wall, speed=1000.0)
    pace = ThrottledPace([limiter], token_wall_s=0.002, linger_s=0.02)
    assert pace() == math.inf
    limiter = refused_once(0.1, wall)
    pace = ThrottledPace([limiter], token_wall_s=0.002, linger_s=0.02)
    assert pace() == 1 / (0.1 * 0.002)  # a token every 2 wall ms: 5,000 simulated seconds per wall second
    wall.t += 0.019
    assert pace() == 5000
    wall.t += 0.002
    assert pace() == math.inf


def test_the_pace_keeps_every_refusing_limit_within_reach() -> None:
    wall = Clock(5.0)
    pace = ThrottledPace([refused_once(0.1, wall), refused_once(10.0, wall)], token_wall_s=0.001, linger_s=1.0)
    assert pace() == 100  # 10 a second refills a token every wall ms at 100x (0.1 a second, every 100 ms)


def test_a_limiter_keeps_each_clients_cadence_and_a_pause_is_not_one() -> None:
    wall = Clock(0.0)
    limiter = RateLimiter(Clock(), 0.1, burst=100)
    limiter.tell_wait_on(wall, speed=1000.0)
    limiter.admit("c")
    wall.t += 0.004
    limiter.admit("c")
    assert limiter.cadence_of("c") is None  # not asked to keep it
    limiter.measure_cadence(0.02)
    for gap in (0.004, 0.009, 0.5, 0.004):  # the first request measured has no gap; then a pause of half a second
        wall.t += gap
        limiter.admit("c")
    assert limiter.cadence_of("c") == pytest.approx(0.009 + 0.2 * (0.004 - 0.009))  # 9 ms, then a fifth to 4
    wall.t += 0.003
    limiter.admit("d")  # another client's first request: no gap, and none of c's
    assert limiter.cadence_of("d") is None
    assert limiter.refused_cadence() is None  # nobody refused yet


def test_while_a_limit_refuses_a_client_the_calendar_refills_a_token_per_its_cadence() -> None:
    """A client coming back every 6 wall ms finds a token each time: a fixed 2 ms token left two of three unused,
    and a slower machine (a longer round trip) more; a cadence faster than the floor does not speed the calendar."""
    wall = Clock(0.0)
    limiter = RateLimiter(Clock(), 0.1, burst=1)
    limiter.tell_wait_on(wall, speed=1000.0)
    pace = ThrottledPace([limiter], token_wall_s=0.002, linger_s=0.02)
    for _ in range(6):
        with contextlib.suppress(RateLimited):
            limiter.admit("c")
        wall.t += 0.006
    wall.t -= 0.006
    assert limiter.refused_cadence() == pytest.approx(0.006)
    assert pace.token_wall(limiter) == pytest.approx(0.006)
    assert pace() == pytest.approx(1 / (0.1 * 0.006))
    for _ in range(30):
        wall.t += 0.0005
        with contextlib.suppress(RateLimited):
            limiter.admit("c")
    assert limiter.refused_cadence() < 0.002 and pace() == pytest.approx(1 / (0.1 * 0.002))  # the floor
    wall.t += 0.021
    assert pace() == math.inf  # no 429 for longer than the linger: a pause, and the calendar's own speed


def test_a_refill_clock_that_reads_back_refills_nothing() -> None:
    clock = Clock(10.0)
    limiter = RateLimiter(clock, 1.0, burst=2)
    limiter.admit("c")
    limiter.admit("c")
    clock.t = 9.0  # back a second: no token, and no debt either
    try:
        limiter.admit("c")
    except RateLimited:
        pass
    else:
        raise AssertionError("a clock that went back must not refill the bucket")
    clock.t = 11.0
    limiter.admit("c")


def test_the_calendar_runs_at_the_pace_while_it_is_slower_and_resumes_its_speed_after() -> None:
    env = ServedEnvironment(speed=10_000.0, lock=threading.Lock())
    slow = [True]
    env.pace = lambda: 1_000.0 if slow[0] else math.inf
    speeds = []

    def firm(env: simpy.Environment):
        yield env.timeout(50)  # 50 ms at the pace of 1,000
        speeds.append(env.speed)
        slow[0] = False
        yield env.timeout(1000)  # 100 ms at the run's speed
        speeds.append(env.speed)

    env.process(firm(env))
    started = time.monotonic()
    env.run()
    assert time.monotonic() - started >= 0.15 - 0.01
    assert speeds == [1_000.0, 10_000.0]


def test_set_speed_is_kept_under_the_pace() -> None:
    env = ServedEnvironment(speed=10_000.0, lock=threading.Lock())
    env.pace = lambda: 500.0
    env.set_speed(1.0)  # the load window's real time is slower than any pace
    assert env.speed == 1.0
    env.set_speed(1e6)
    assert env.speed == 500.0


def test_the_paced_clock_moves_between_events_but_not_past_the_next_nor_while_the_firm_holds() -> None:
    lock = threading.Lock()
    env = ServedEnvironment(speed=1_000.0, lock=lock)
    seen: dict[str, float] = {}

    def firm(env: simpy.Environment):
        yield env.timeout(100)  # a tenth of a wall second
        yield env.timeout(100)

    def look() -> None:
        time.sleep(0.01)  # the firm has started: its next event is at 100
        with lock:  # the firm cannot take that step until this lets go
            time.sleep(0.04)
            seen["between"], seen["now"] = env.paced_now(), env.now
            time.sleep(0.1)
            seen["late"] = env.paced_now()

    env.process(firm(env))
    looker = threading.Thread(target=look)
    looker.start()
    env.run()
    looker.join()
    assert seen["now"] == 0 and 20 < seen["between"] < 100  # half way to the event, while now stands at 0
    assert seen["late"] == 100  # the step at 100 is late: the clock waits for it

    env = ServedEnvironment(speed=1_000.0, lock=threading.Lock())
    during: list[float] = []

    def hold() -> float:
        during.append(env.paced_now())
        time.sleep(0.08)
        during.append(env.paced_now())
        return 0.08

    env.hold = hold
    env.process(firm(env))
    env.run()
    assert during[0] == during[1]


def test_a_late_firm_slips_instead_of_racing_through_its_late_hours() -> None:
    """After a step that took 0.3 wall s (a busy machine), the next events keep their wall spacing: a connector's
    timers still get simulated time to fire in. Before, the firm made up all 0.3 s by racing through them."""
    env = ServedEnvironment(speed=1_000.0, lock=threading.Lock())
    fired: list[float] = []

    def firm(env: simpy.Environment):
        yield env.timeout(10)
        time.sleep(0.3)  # this step's work: 30 times its share of wall time
        for _ in range(5):
            yield env.timeout(20)  # 20 wall ms apart
            fired.append(time.monotonic())

    env.process(firm(env))
    env.run()
    assert fired[-1] - fired[0] >= 3 * 0.02 - 0.01  # one interval is caught up, the rest keep 20 ms (a race: none)
