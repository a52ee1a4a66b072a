"""DhakaCart: the bundled reference store (an electronics shop a flash sale hits).

``create_app(config)`` builds the Flask app: defaults from
:data:`target_app.config.DEFAULTS`, overridden by environment variables
(``DATABASE_URL``, ``STORE_*``) and then by the ``config`` mapping.
Serve it with gunicorn (``target_app.wsgi:app``, ``target_app/gunicorn_conf.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from target_app.config import ConfigError, load_config

__all__ = ["ConfigError", "create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory; raises ConfigError on an invalid configuration."""
    from target_app import (
        admin,
        auth,
        cart,
        catalog,
        checkout,
        db,
        faults,
        health,
        metrics,
        orders,
        sale,
    )
    from target_app.errors import register_error_handlers
    from target_app.ratelimit import FixedWindowLimiter, parse_rate

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_config(config))
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if app.config["RATE_LIMIT_LOGIN"]:
        try:
            limit, window = parse_rate(app.config["RATE_LIMIT_LOGIN"])
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        app.extensions["dhakacart_ratelimit"] = FixedWindowLimiter(limit, window)
    db.init_app(app)
    metrics.init_app(app)  # first: times the injected faults too
    faults.init_app(app)
    register_error_handlers(app)
    for module in (health, catalog, auth, cart, checkout, sale, orders, admin):
        app.register_blueprint(module.bp)
    if not app.debug:
        logging.getLogger("target_app").setLevel(logging.INFO)
    return app
