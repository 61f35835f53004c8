"""/openapi.json, built by flask-openapi3 from the views and their models, and /docs."""

from __future__ import annotations

from flask.testing import FlaskClient

from {{ cookiecutter.project_slug }} import create_app

from .helpers import make_config

# The paths and methods docs/api.md (and the README's "The API") promise. Routes a project
# adds beside them are its own business: the test asks only that none of these is missing.
CONTRACT_PATHS = {
    "/health": {"get"},
    "/health/live": {"get"},
{%- if cookiecutter.database != "none" %}
    "/api/v1/items": {"get", "post"},
    "/api/v1/items/{item_id}": {"get", "patch", "delete"},
{%- endif %}
{%- if cookiecutter.use_auth %}
    "/api/v1/auth/register": {"post"},
    "/api/v1/auth/token": {"post"},
    "/api/v1/users/me": {"get"},
{%- endif %}
}


def test_openapi_document(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "{{ cookiecutter.project_name }}"


def test_the_document_lists_every_contract_path_and_method(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    for path, methods in CONTRACT_PATHS.items():
        assert methods <= set(paths.get(path, {})), f"{path}: {methods} not all documented"


def test_docs_served_without_a_cdn(client: FlaskClient) -> None:
    page = client.get("/docs", follow_redirects=True)
    assert page.status_code == 200
    assert "swagger-ui" in page.text
    assert "//cdn" not in page.text
    assert client.get("/docs/swagger/js/swagger-ui-bundle.js").status_code == 200


def test_docs_off_in_production_unless_enabled() -> None:
    for docs_enabled, expected in ((None, 404), (False, 404), (True, 302)):
        config = make_config(ENVIRONMENT="production", DOCS_ENABLED=docs_enabled)
        client = create_app(config).test_client()
        assert client.get("/docs").status_code == expected
        # The document stays available: clients rely on it (docs/api.md, "Always").
        assert client.get("/openapi.json").status_code == 200


def test_every_documented_422_is_the_body_the_service_sends(client: FlaskClient) -> None:
    # {"detail": [...]}, as errors.validation_error_response answers; on every route there is.
    document = client.get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    documented = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "422" not in operation["responses"]:
                continue
            schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
            name = schema.get("$ref", "").rsplit("/", 1)[-1]
            detail = schemas.get(name, {}).get("properties", {}).get("detail", {})
            assert detail.get("type") == "array", f"{method.upper()} {path}: 422 is {schema}"
            documented += 1
    assert documented
