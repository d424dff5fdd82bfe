"""pytest plugin: ``pytest --perf-budget`` records performance facts per test and URL.

This is the ``pytest11`` entry point, so it imports nothing heavy: the
module-level hooks add the options and the ``perf_budget`` marker and, only
when ``--perf-budget`` is on, register the recording session
(``hooks.PerfBudgetPlugin``) that does the work, and remove it
at unconfigure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from perfbudget.plugin.options import MARKER_HELP, add_options, check_output, load_budgets_once, read_options, rootdir_warnings

if TYPE_CHECKING:
    from perfbudget.plugin.hooks import PerfBudgetPlugin

_PLUGIN_KEY: pytest.StashKey[PerfBudgetPlugin] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    # Registered even when recording is off, so the marker never warns.
    config.addinivalue_line("markers", MARKER_HELP)
    if not config.getoption("perf_budget"):
        return
    for message in rootdir_warnings(config.invocation_params.args, config.invocation_params.dir, config.rootpath):
        config.issue_config_time_warning(pytest.PytestConfigWarning(message), stacklevel=2)
    from perfbudget.plugin.hooks import PerfBudgetPlugin

    options = read_options(config)
    check_output(options.output)
    plugin = PerfBudgetPlugin(config, options, load_budgets_once(config, options.budget_file))
    config.stash[_PLUGIN_KEY] = plugin
    config.pluginmanager.register(plugin, "perfbudget-recorder")


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(_PLUGIN_KEY, None)
    if plugin is not None:
        plugin.close()
        config.pluginmanager.unregister(plugin)
        del config.stash[_PLUGIN_KEY]
