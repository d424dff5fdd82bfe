"""Turn one ``Recording`` into metric values and the ``Details`` behind them.

The plugin (for a whole test and its call phase) and ``http_requests.py`` (for
one test-client request) both call ``summarise``, so a test and a request are
described by the same metrics. Each family of events is summarised by its own
collector module; the Django families are imported only when the recording
holds such events or the Django collectors are installed, so a run without
Django never imports them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from perfbudget.collect import network, timing
from perfbudget.collect.recording import CollectSettings, Recording
from perfbudget.run.model import Details


def summarise(recording: Recording, settings: CollectSettings) -> tuple[dict[str, float], Details]:
    """Metrics (names from ``perfbudget.run.metrics``) and details of a finished recording.

    Counts of a family whose collector is installed are reported even when
    zero: "0 queries" is a fact a budget can hold a test to, a missing value is not.
    """
    metrics = timing.summarise(recording)
    details = Details()

    network_metrics, details.network_calls = network.summarise(recording.network)
    metrics.update(network_metrics)

    django = settings.django
    if django or recording.queries:
        sql = optional_collector("sql")
        if sql is not None:
            sql_metrics, details.sql_groups = sql.summarise(recording.queries, settings)
            metrics.update(sql_metrics)
    if django or recording.cache:
        cache = optional_collector("cache")
        if cache is not None:
            cache_metrics, details.cache_ops = cache.summarise(recording.cache)
            metrics.update(cache_metrics)
    if django or recording.templates:
        templates = optional_collector("templates")
        if templates is not None:
            template_metrics, details.templates = templates.summarise(recording.templates)
            metrics.update(template_metrics)
    if django or recording.signals:
        metrics["signals"] = float(sum(recording.signals.values()))
        details.signals = dict(sorted(recording.signals.items()))
    return metrics, details


def optional_collector(name: str) -> ModuleType | None:
    """``perfbudget.collect.<name>``, or None if this install lacks that module.

    Only the module's own absence is forgiven; an import error inside it is a
    bug and propagates (the plugin reports it as a warning).
    """
    qualified = f"perfbudget.collect.{name}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name == qualified:
            return None
        raise
