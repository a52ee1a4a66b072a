"""WSGI entry point.

``gunicorn -c python:target_app.gunicorn_conf target_app.wsgi:app``
"""

from __future__ import annotations

from target_app import create_app

app = create_app()
