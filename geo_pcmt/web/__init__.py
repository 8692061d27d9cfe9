"""The Flask application factory: ``create_app(config)`` builds the web service."""
from __future__ import annotations

import os
from typing import Any, Mapping

from flask import Flask, jsonify

from ..paths import default_store_path
from ..store import open_store


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app.

    Configuration comes, later entries winning, from defaults, the file named by
    ``$GEO_PCMT_CONFIG`` (a Python file of UPPER_CASE settings), environment variables
    prefixed ``GEO_PCMT_`` (e.g. ``GEO_PCMT_STORE``), and ``config``.

    Settings: ``STORE`` (GeoPackage path or ``postgresql://`` URL), ``SECRET_KEY``,
    ``MAX_CONTENT_LENGTH`` (upload limit, bytes).
    """
    app = Flask(__name__)
    app.config.update(STORE=str(default_store_path()), MAX_CONTENT_LENGTH=50 * 1024 * 1024,
                      JSON_SORT_KEYS=False)
    if os.environ.get("GEO_PCMT_CONFIG"):
        app.config.from_envvar("GEO_PCMT_CONFIG")
    app.config.from_prefixed_env("GEO_PCMT")
    app.config.update(config or {})
    app.extensions["geo_pcmt_store"] = open_store(app.config["STORE"])

    from .public import bp as public_bp
    app.register_blueprint(public_bp)

    @app.errorhandler(404)
    def not_found(err):
        return jsonify(error="not_found", message=str(err.description)), 404

    @app.errorhandler(500)
    def server_error(err):
        return jsonify(error="server_error", message="internal error; see the server log"), 500

    return app


def get_store(app: Flask | None = None):
    """The store the running app uses."""
    from flask import current_app
    return (app or current_app).extensions["geo_pcmt_store"]
