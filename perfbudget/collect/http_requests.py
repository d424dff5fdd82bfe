"""Requests made through Django's test client, each recorded as a ``RequestRecord``.

``Client``, ``AsyncClient`` and DRF's ``APIClient`` all hand a request to
``django.test.client.ClientHandler`` (or ``AsyncClientHandler``); patching
their ``__call__`` sees every request, middleware included. Each request is
its own nested recording, so its queries, cache calls, templates, network
calls and signals are those of that request alone (they count for the test
too). ``RequestFactory`` requests bypass the handler and are not recorded.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable
from typing import Any

from perfbudget.collect.patching import Undo, patch, undo_all
from perfbudget.collect.recording import CollectSettings, Recorder, Recording
from perfbudget.run.model import RequestRecord

_REGEX_ANCHORS = re.compile(r"^\^|(?:\$|\\Z)$")


def route_of(resolver_match: Any) -> str | None:
    """The full route pattern (``/posts/<int:pk>/``) a request resolved to, None if it did not resolve.

    A ``re_path`` route keeps its regular expression, without the ``^``/``$`` anchors.
    """
    route = getattr(resolver_match, "route", None)
    if route is None:
        return None
    return "/" + _REGEX_ANCHORS.sub("", str(route))


def response_size(response: Any) -> int | None:
    """Body size in bytes; for a streaming response, its Content-Length if it has one."""
    if not getattr(response, "streaming", False):
        return len(response.content)
    length = response.get("Content-Length") if hasattr(response, "get") else None
    return int(length) if length and str(length).isdigit() else None


def build_record(request: Any, response: Any, recording: Recording, settings: CollectSettings) -> RequestRecord:
    """The ``RequestRecord`` of one finished request and what was recorded during it."""
    from perfbudget.collect.summary import summarise

    metrics, details = summarise(recording, settings)
    size = response_size(response)
    if size is not None:
        metrics["response_size"] = float(size)
    resolver_match = getattr(request, "resolver_match", None)
    return RequestRecord(
        method=str(request.method).upper(),
        path=request.path,
        route=route_of(resolver_match),
        view_name=getattr(resolver_match, "view_name", None),
        status=int(response.status_code),
        metrics=metrics,
        details=details,
    )


def install(recorder: Recorder, settings: CollectSettings) -> Undo:
    """Record every test-client request; returns the remover."""
    from django.test.client import AsyncClientHandler, ClientHandler

    def finish(recording: Recording, response: Any, request_attr: str) -> None:
        recorder.stop(recording)
        request = getattr(response, request_attr, None)
        if request is None:
            return
        try:
            record = build_record(request, response, recording, settings)
        except Exception as exc:  # the test's request succeeded; only our record of it is lost
            with contextlib.suppress(Exception):  # -W error must not turn this into a test failure
                warnings.warn(f"perfbudget: could not record {request.method} {request.path!r}: {exc!r}", stacklevel=2)
            return
        recorder.emit_request(record)

    def wsgi(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def __call__(handler: Any, environ: Any) -> Any:
            if not recorder.active:
                return original(handler, environ)
            recording = recorder.start()
            try:
                response = original(handler, environ)
            except BaseException:
                recorder.stop(recording)  # the test sees the error; there is no response to record
                raise
            finish(recording, response, "wsgi_request")
            return response

        return __call__

    def asgi(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        async def __call__(handler: Any, scope: Any) -> Any:
            if not recorder.active:
                return await original(handler, scope)
            recording = recorder.start()
            try:
                response = await original(handler, scope)
            except BaseException:
                recorder.stop(recording)
                raise
            finish(recording, response, "asgi_request")
            return response

        return __call__

    return undo_all(
        [
            patch(ClientHandler, "__call__", wsgi(vars(ClientHandler)["__call__"])),
            patch(AsyncClientHandler, "__call__", asgi(vars(AsyncClientHandler)["__call__"])),
        ]
    )
