"""The WSGI entry point for servers: ``gunicorn '{{ cookiecutter.project_slug }}.wsgi:app'``."""

from . import create_app

app = create_app()
