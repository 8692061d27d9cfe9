"""What a request works with: the app's store (as Flask's tutorial keeps ``get_db``)."""
from __future__ import annotations

from flask import Flask, current_app

from geo_pcmt.store import Store


def get_store(app: Flask | None = None) -> Store:
    """The store the running app (or ``app``) uses, opened once by ``create_app``."""
    return (app or current_app).extensions["geo_pcmt_store"]
