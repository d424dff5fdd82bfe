"""The unittest result class that records each test between ``startTest`` and ``stopTest``, in this process."""

from __future__ import annotations

from typing import Any

from perfbudget.django.session import RunnerSession


def recording_result(base: type, session: RunnerSession) -> type:
    """``base`` (Django's result class of the run) with each test recorded between startTest and stopTest."""

    class RecordingResult(base):
        def startTest(self, test: Any) -> None:
            super().startTest(test)
            session.start_test()  # after Django's own output for the test, so it is not measured

        def stopTest(self, test: Any) -> None:
            session.stop_test(test)
            super().stopTest(test)

        def addSuccess(self, test: Any) -> None:
            session.outcome("passed")
            super().addSuccess(test)

        def addFailure(self, test: Any, err: Any) -> None:
            session.outcome("failed")
            super().addFailure(test, err)

        def addError(self, test: Any, err: Any) -> None:
            session.outcome("failed")
            super().addError(test, err)

        def addSkip(self, test: Any, reason: str) -> None:
            session.outcome("skipped")
            super().addSkip(test, reason)

        def addExpectedFailure(self, test: Any, err: Any) -> None:
            session.outcome("xfailed")
            super().addExpectedFailure(test, err)

        def addUnexpectedSuccess(self, test: Any) -> None:
            session.outcome("xpassed")
            super().addUnexpectedSuccess(test)

        def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
            if err is not None:
                session.outcome("failed")
            super().addSubTest(test, subtest, err)

    return RecordingResult
