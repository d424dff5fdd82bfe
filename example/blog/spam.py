"""Client of the outside spam-check service (settings.SPAM_CHECK_URL).

The service takes ``POST /check`` with ``{"name": ..., "body": ...}`` and
answers ``{"spam": true|false}``. Plain urllib keeps the example free of extra
dependencies.
"""

import json
import urllib.error
import urllib.request

from django.conf import settings


class SpamCheckUnavailable(Exception):
    """The service did not answer in time or answered nonsense."""


def is_spam(name: str, body: str) -> bool:
    request = urllib.request.Request(
        f"{settings.SPAM_CHECK_URL.rstrip('/')}/check",
        data=json.dumps({"name": name, "body": body}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.SPAM_CHECK_TIMEOUT) as response:
            verdict = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SpamCheckUnavailable(str(exc)) from exc
    if not isinstance(verdict, dict) or not isinstance(verdict.get("spam"), bool):
        raise SpamCheckUnavailable(f"unexpected answer: {verdict!r}")
    return verdict["spam"]
