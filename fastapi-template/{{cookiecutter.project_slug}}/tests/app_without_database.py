"""The app as the service builds it, with test settings."""

import pytest
from fastapi import FastAPI
from helpers import make_settings

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.main import create_app

__all__ = ["app", "settings"]


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)
