"""What the plugin's companions (``xdist.py``, ``reruns.py``) need of ``hooks.PerfBudgetPlugin``, as a protocol.

They are handed the plugin itself; naming only what they use keeps the
three modules free of an import loop and says what they share.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

import pytest

if TYPE_CHECKING:
    from perfbudget.collect.session import RecordingSession
    from perfbudget.config.options import PerfOptions
    from perfbudget.frontend.suspects import TimingWatch
    from perfbudget.run.model import Confirmation, TestRecord


class Host(Protocol):
    config: pytest.Config
    options: PerfOptions
    session: RecordingSession | None
    watch: TimingWatch | None
    problems: list[str]
    confirmations: list[Confirmation]
    is_worker: bool

    @property
    def recording(self) -> bool: ...

    def guard(self, doing: str) -> AbstractContextManager[None]: ...

    def stream(self, record: TestRecord) -> None: ...
