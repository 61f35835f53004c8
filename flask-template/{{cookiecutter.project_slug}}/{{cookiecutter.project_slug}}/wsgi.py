"""The WSGI entry point for servers: ``granian --interface wsgi {{ cookiecutter.project_slug }}.wsgi:app``."""

from . import create_app

app = create_app()
