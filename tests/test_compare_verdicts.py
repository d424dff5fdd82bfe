"""A verdict's words are built from its typed fields; a run's CI verdict is a type of its own."""

from __future__ import annotations

from typing import Any

from perfbudget.compare.evidence import TimingEvidence
from perfbudget.compare.verdicts import CiVerdict, Status, Verdict


def _slower(**fields: Any) -> Verdict:
    return Verdict("tests/t.py::test_a", "test", "duration", Status.REGRESSED, 60.0, 40.0, 48.0, "duration 40 ms -> 60 ms", **fields)


def test_the_reason_reads_basis_evidence_environment_then_the_accept_entry() -> None:
    verdict = _slower(
        timing=TimingEvidence("duration", True, 5, 59.0, 48.0),
        environment_changed="Python 3.11.7 -> 3.12.1; CPU a -> b",
        accepted_because="slower on purpose; perfbudget.yaml:3",
    )
    assert verdict.reason == (
        "duration 40 ms -> 60 ms; confirmed by 5 reruns: quickest 59 ms > 48 ms; "
        "not judged: the environment changed (Python 3.11.7 -> 3.12.1; CPU a -> b); accepted (slower on purpose; perfbudget.yaml:3)"
    )
    # The evidence column shows why it was not judged, whole, though the changes hold a "; " of their own.
    assert verdict.evidence == "not judged: the environment changed (Python 3.11.7 -> 3.12.1; CPU a -> b)"


def test_an_expired_entry_is_named_after_the_evidence() -> None:
    verdict = _slower(timing=TimingEvidence("duration", True, 3, 50.0, 48.0), expired_entry="the accept entry at f.yaml:2 expired")
    assert verdict.reason.endswith("quickest 50 ms > 48 ms; the accept entry at f.yaml:2 expired")
    assert verdict.evidence == "confirmed by 3 reruns: quickest 50 ms > 48 ms"


def test_a_count_verdict_is_its_basis() -> None:
    verdict = Verdict("t", "test", "queries", Status.REGRESSED, 3.0, 2.0, 2.0, "queries 2 -> 3 (+1; any increase regresses; default)")
    assert verdict.reason == verdict.evidence == "queries 2 -> 3 (+1; any increase regresses; default)"


def test_several_legs_verdict_is_the_worst_and_writes_as_its_word() -> None:
    assert CiVerdict.worst([CiVerdict.OK, CiVerdict.CHANGED, CiVerdict.ERROR]) is CiVerdict.ERROR
    assert CiVerdict.worst([CiVerdict.ERROR, CiVerdict.FAIL]) is CiVerdict.FAIL
    assert CiVerdict.worst([]) is CiVerdict.OK
    assert f"{CiVerdict.FAIL}" == str(CiVerdict.FAIL) == "fail" and CiVerdict("changed") is CiVerdict.CHANGED
