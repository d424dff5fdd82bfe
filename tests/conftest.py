"""Shared test configuration. Helpers for one area live in tests/support/<area>.py.

Their fixtures (``fake_github``, ``django_project`` and ``collectors``,
``local_server``) are registered here once, so a test module imports only
the helpers it calls, never a fixture.
"""

import pytest

pytest_plugins = ["tests.support.django", "tests.support.github", "tests.support.plugin"]


# pytest-randomly, pytest-socket and pytest-recording are installed for tests/test_plugin_coexistence.py;
# no other pytest run a test starts loads them.
NO_SHUFFLE = "-p no:randomly -p no:socket -p no:recording"


@pytest.fixture(autouse=True)
def _inner_runs_keep_their_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pytest run a test starts (the example project, subprocesses) keeps its written order."""
    monkeypatch.setenv("PYTEST_ADDOPTS", NO_SHUFFLE)


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester clears PYTEST_ADDOPTS when it starts; its runs keep their written order too."""
    monkeypatch.setenv("PYTEST_ADDOPTS", NO_SHUFFLE)
    return pytester
