"""Collectors: one module per family of metrics.

Contract for a collector module ``perfbudget/collect/<family>.py``:

- ``install(recorder: recording.Recorder, settings: recording.CollectSettings) -> Callable[[], None]``
  installs the family's hooks once per session (patches, signal receivers,
  ``execute_wrapper``...) and returns the function that removes them. Hooks
  call ``recorder.emit(event)`` (see ``recording.py``); they must be cheap when
  ``recorder.active`` is False.
- ``summarise(...)`` turns the family's events of one ``Recording`` into
  metric values (names from ``perfbudget.run.metrics``) and the matching part of
  ``results.Details``. ``summary.py`` puts the families together.

Django collectors are installed once Django is imported (its settings may be
configured later); a run without Django never imports them.
"""
