"""pygeoapi on an SQLite that may load extensions, for ``benchmarks/ogcapi.py``.

pygeoapi's SQLite/GPKG provider loads SpatiaLite into Python's ``sqlite3``; a Python built
without loadable extensions (pyenv's default) refuses that, so the ``sqlite3`` module is
``pysqlite3`` (the ``pysqlite3-binary`` wheel, same API) before pygeoapi is imported.

    gunicorn 'pygeoapi_app:app()'                    # the Flask app
    python pygeoapi_app.py openapi generate CONFIG --output-file OUT   # pygeoapi's CLI
"""
from __future__ import annotations

import sys

import pysqlite3

sys.modules["sqlite3"] = pysqlite3


def app():
    """pygeoapi's Flask app (``PYGEOAPI_CONFIG`` and ``PYGEOAPI_OPENAPI`` set)."""
    from pygeoapi.flask_app import APP
    return APP


if __name__ == "__main__":
    from pygeoapi import cli
    cli(sys.argv[1:])
