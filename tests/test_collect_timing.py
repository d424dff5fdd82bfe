"""Time metrics: each recording measures its own span, minus the time it was suspended.

The clocks are replaced by a fake one here, so the arithmetic is checked
exactly without any timed assertion.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from perfbudget.collect import recording, timing
from perfbudget.collect.recording import Recorder


class FakeClock:
    """perf_counter and process_time that move only when told to (seconds)."""

    def __init__(self) -> None:
        self.wall = 100.0
        self.cpu = 10.0

    def advance(self, wall: float, cpu: float) -> None:
        self.wall += wall
        self.cpu += cpu


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(recording, "time", SimpleNamespace(perf_counter=lambda: fake.wall, process_time=lambda: fake.cpu))
    return fake


def test_nested_recordings_each_time_their_own_span(clock: FakeClock) -> None:
    recorder = Recorder()
    whole = recorder.start()
    clock.advance(0.010, 0.004)
    call = recorder.start()
    clock.advance(0.050, 0.020)
    recorder.stop(call)
    clock.advance(0.005, 0.001)
    recorder.stop(whole)
    assert timing.summarise(call) == {"duration": 50.0, "cpu_time": 20.0}
    assert timing.summarise(whole) == {"duration": 65.0, "cpu_time": 25.0}


def test_suspended_time_and_events_belong_to_no_recording(clock: FakeClock) -> None:
    from perfbudget.collect.recording import NetworkEvent

    recorder = Recorder()
    whole = recorder.start()
    clock.advance(0.002, 0.001)
    suspension = recorder.suspend()  # e.g. a session fixture creating the test database
    assert not recorder.active
    recorder.emit(NetworkEvent("127.0.0.1", 5432, True))
    clock.advance(3.0, 2.5)
    recorder.resume(suspension)
    recorder.emit(NetworkEvent("127.0.0.1", 8000, True))
    clock.advance(0.003, 0.001)
    recorder.stop(whole)
    assert timing.summarise(whole) == {"duration": 5.0, "cpu_time": 2.0}
    assert [event.port for event in whole.network] == [8000]


def test_a_recording_started_while_suspended_keeps_its_time(clock: FakeClock) -> None:
    recorder = Recorder()
    outer = recorder.start()
    suspension = recorder.suspend()
    inner = recorder.start()  # opened inside a suspended stretch: it still records
    clock.advance(1.0, 1.0)
    recorder.stop(inner)
    recorder.resume(suspension)
    recorder.stop(outer)
    assert timing.summarise(inner) == {"duration": 1000.0, "cpu_time": 1000.0}
    assert timing.summarise(outer) == {"duration": 0.0, "cpu_time": 0.0}


def test_times_are_rounded_to_the_microsecond(clock: FakeClock) -> None:
    recorder = Recorder()
    recording_ = recorder.start()
    clock.advance(0.0123456789, 0.0000004)
    recorder.stop(recording_)
    assert timing.summarise(recording_) == {"duration": 12.346, "cpu_time": 0.0}


def test_stopping_a_recording_closes_that_one_not_an_equal_one(clock: FakeClock) -> None:
    from perfbudget.collect.recording import NetworkEvent

    recorder = Recorder()
    outer = recorder.start()
    inner = recorder.start()  # same clocks, no events: equal to ``outer`` field by field
    assert inner == outer
    recorder.stop(inner)
    recorder.emit(NetworkEvent("127.0.0.1", 8000, True))
    assert recorder.active
    assert [event.port for event in outer.network] == [8000]
    assert inner.network == []
