from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient


def test_openapi_document(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == {{ cookiecutter.project_name | tojson }}


def test_every_route_is_documented(app: Flask, client: FlaskClient) -> None:
    documented = {
        (path, method.upper())
        for path, operations in client.get("/openapi.json").get_json()["paths"].items()
        for method in operations
        if method != "parameters"
    }
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in {"static", "openapi.openapi"}
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    assert documented == routes
{%- if cookiecutter.database != "none" %}


def test_schemas_come_from_the_models(client: FlaskClient) -> None:
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert schemas["ItemCreate"]["properties"]["name"]["maxLength"] == 100
    assert schemas["ItemCreate"]["additionalProperties"] is False
{%- endif %}
