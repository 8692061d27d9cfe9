"""Entry point for `flask --app app run` and `gunicorn app:app`."""
from geo_pcmt.web import create_app

app = create_app()
