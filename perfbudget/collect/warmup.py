"""Warm a process up before its first test is measured, so one-off costs are charged to no test.

The first test a process runs pays for what the process does once: Django
importing the URLconf and every view module it names on the first resolve,
template engines loading their backends, and a garbage collection of
everything collection-time left behind. On a fresh xdist worker that is
tens or hundreds of milliseconds landing on whichever test comes first,
and a different test each time the distribution changes.

Only what a test cannot observe is touched: imports Django makes anyway,
and a collection. No cache a test relies on is filled or cleared (the
ContentType and Site caches stay as they are: their queries are recorded
as warm-up queries instead, see collect/sql.py).
"""

from __future__ import annotations

import contextlib
import gc
import sys

from perfbudget.collect.django import django_configured


def warm_up() -> None:
    """Resolve the URLconf, load the template engines, then collect garbage; never raises.

    Django is warmed only once the project imported it: importing it here would change what a test sees.
    """
    if "django" in sys.modules and django_configured():
        # A broken URLconf or template setting is the tests' error to report, with their traceback.
        with contextlib.suppress(Exception):
            from django.urls import get_resolver

            get_resolver().url_patterns  # noqa: B018  imports the URLconf and the view modules it names
        with contextlib.suppress(Exception):
            from django.template import engines

            engines.all()
    gc.collect()
