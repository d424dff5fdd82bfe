"""Shared test configuration. Helpers for one area live in tests/helpers_<area>.py.

Their fixtures (``fake_github``, ``django_project`` and ``collectors``,
``local_server``) are registered here once, so a test module imports only
the helpers it calls, never a fixture.
"""

pytest_plugins = ["tests.helpers_django", "tests.helpers_github", "tests.helpers_plugin"]
