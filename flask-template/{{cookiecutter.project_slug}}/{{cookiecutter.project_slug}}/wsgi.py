"""The WSGI entry point for servers:
``granian --interface wsgi {{ cookiecutter.project_slug }}.wsgi:app``."""

from flask.cli import load_dotenv

from . import create_app
from .config import ConfigError, stop_serving
{%- if cookiecutter.use_observability %}
from .observability import start_metrics_listener
{%- endif %}

# `.env` in the working directory, as `flask` commands read it.
load_dotenv()
try:
    app = create_app()
except ConfigError as error:
    # One line for the operator, not a traceback from each server process.
    stop_serving(error)
{%- if cookiecutter.use_observability %}
# The served process only: tests and `flask` commands open no metrics port.
start_metrics_listener(app.config["SETTINGS"])
{%- endif %}
