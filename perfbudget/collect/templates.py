"""Django templates rendered: how often each one, and the time spent in it.

Every template rendered counts, including those a template extends or
includes (as django-debug-toolbar and the test client's
``response.templates`` count them): a page extending ``base.html`` is two
renders. A template's time is its own time, without the templates it extends
or includes, so the times add up to ``template_time`` without counting any
part twice (like a profiler's "tottime").

Hook: ``Template._render``, which every render of the Django template language
goes through, ``{% extends %}`` parents included. Django's test environment
(``setup_test_environment``, run by pytest-django and Django's test runner)
replaces ``_render`` with its own instrumented version, possibly after this
collector was installed; the wrapper on ``Template.render`` puts ours back in
front whenever that happened. Jinja2 templates are not recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from perfbudget.collect.patching import Undo, patch, undo_all
from perfbudget.collect.recording import CollectSettings, Recorder, TemplateEvent
from perfbudget.run.model import TemplateStat

_MARK = "_perfbudget_recorder"  # set on our ``_render`` wrappers: the recorder they report to


def template_name(template: Any) -> str:
    """The name a template was loaded by (``blog/post_list.html``), or its origin for one built from a string."""
    return str(template.name or template.origin.name)


def install(recorder: Recorder, settings: CollectSettings) -> Undo:
    """Wrap ``Template._render`` (and keep it wrapped); returns the remover."""
    from django.template.base import Template

    # Per thread: one [template, time of nested renders] per render in progress.
    local = threading.local()
    undos: list[Undo] = []

    def timed(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def _render(template: Any, context: Any) -> Any:
            stack: list[list[Any]] | None = getattr(local, "stack", None)
            if stack is None:
                stack = local.stack = []
            if not recorder.active or (stack and stack[-1][0] is template):
                # Idle, or a second wrapper of ours around the same render
                # (another tool wrapped ours, and we wrapped theirs).
                return original(template, context)
            stack.append([template, 0.0])
            started = time.perf_counter()
            try:
                return original(template, context)
            finally:
                elapsed = time.perf_counter() - started
                nested = stack.pop()[1]
                if stack:
                    stack[-1][1] += elapsed
                recorder.emit(TemplateEvent(template_name(template), (elapsed - nested) * 1000.0))

        setattr(_render, _MARK, recorder)
        return _render

    def wrap_current_render() -> None:
        undos.append(patch(Template, "_render", timed(vars(Template)["_render"])))

    original_render = Template.render

    def render(template: Any, context: Any) -> Any:
        if recorder.active and getattr(vars(Template)["_render"], _MARK, None) is not recorder:
            wrap_current_render()  # the test environment swapped ``_render`` since we wrapped it
        return original_render(template, context)

    wrap_current_render()
    undo_render = patch(Template, "render", render)

    def uninstall() -> None:
        undo_render()
        undo_all(undos)()  # every ``_render`` wrap, newest first (the list grows after install)

    return uninstall


def summarise(events: list[TemplateEvent]) -> tuple[dict[str, float], list[TemplateStat]]:
    """``template_renders``/``template_time`` and one ``TemplateStat`` per template name."""
    stats: dict[str, TemplateStat] = {}
    for event in events:
        stat = stats.get(event.name)
        if stat is None:
            stat = stats[event.name] = TemplateStat(name=event.name, count=0, time_ms=0.0)
        stat.count += 1
        stat.time_ms += event.duration_ms
    result = sorted(stats.values(), key=lambda stat: stat.name)
    for stat in result:
        stat.time_ms = round(stat.time_ms, 3)
    metrics = {
        "template_renders": float(len(events)),
        "template_time": round(float(sum(event.duration_ms for event in events)), 3),
    }
    return metrics, result
