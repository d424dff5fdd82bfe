"""WSGI entry point, for ``manage.py runserver`` and real servers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blogsite.settings")
application = get_wsgi_application()
