"""The Celery app of the worker process, made by the app factory so that its tasks run
in the app's context:

    celery --app {{ cookiecutter.project_slug }}.worker:celery_app worker --loglevel INFO
    celery --app {{ cookiecutter.project_slug }}.worker:celery_app beat --loglevel INFO
"""

from typing import Any

from celery import Celery
from flask.cli import load_dotenv

from . import create_app

# `.env` in the working directory, as for the web app.
load_dotenv()
flask_app = create_app()
celery_app: Celery[Any] = flask_app.extensions["celery"]
