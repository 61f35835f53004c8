"""The WSGI entry point for servers:
``granian --interface wsgi {{ cookiecutter.project_slug }}.wsgi:app``."""

from flask.cli import load_dotenv

from . import create_app

# `.env` in the working directory, as `flask run` reads it (a no-op without python-dotenv).
load_dotenv()
app = create_app()
