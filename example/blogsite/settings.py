"""Settings of the example blog: SQLite, a local-memory cache, no auth or sessions.

Kept to what the blog uses, so that every query, cache call and template in a
perfbudget report can be traced back to code in ``blog/``.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

INSTALLED_APPS = ["blog"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

ROOT_URLCONF = "blogsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "blog",
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"

# The comment spam checker, an outside HTTP service (tests serve it on 127.0.0.1).
SPAM_CHECK_URL = os.environ.get("SPAM_CHECK_URL", "http://127.0.0.1:8025")
SPAM_CHECK_TIMEOUT = float(os.environ.get("SPAM_CHECK_TIMEOUT", "2"))

# How long the sidebar (most discussed posts, tags) stays cached, in seconds.
SIDEBAR_CACHE_SECONDS = 300
