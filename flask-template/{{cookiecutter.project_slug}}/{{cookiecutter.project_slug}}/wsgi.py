"""The WSGI entry point for servers:
``granian --interface wsgi {{ cookiecutter.project_slug }}.wsgi:app``."""

from flask.cli import load_dotenv

from . import create_app
{%- if cookiecutter.use_observability %}
from .observability import start_metrics_listener
{%- endif %}

# `.env` in the working directory, as `flask run` reads it (a no-op without python-dotenv).
load_dotenv()
app = create_app()
{%- if cookiecutter.use_observability %}
# The served process only: tests and `flask` commands open no metrics port.
start_metrics_listener(app.config["SETTINGS"])
{%- endif %}
