from __future__ import annotations

from flask.testing import FlaskClient

from .helpers import AuthActions, create

TAGS = "/api/v1/tags"
ITEMS = "/api/v1/items"


def test_create_list_and_delete(client: FlaskClient, auth: AuthActions) -> None:
    headers = auth.headers()
    tag = create(client, TAGS, headers, name="red")
    assert tag["name"] == "red"
    assert tag["created_at"].endswith("Z")
    assert client.post(TAGS, json={"name": "red"}, headers=headers).status_code == 409
    page = client.get(TAGS, headers=headers).get_json()
    assert page["total"] == 1
    assert [t["name"] for t in page["items"]] == ["red"]
    assert client.delete(f"{TAGS}/{tag['id']}", headers=headers).status_code == 204
    assert client.delete(f"{TAGS}/{tag['id']}", headers=headers).status_code == 404


def test_an_item_gets_its_tags(client: FlaskClient, auth: AuthActions) -> None:
    headers = auth.headers()
    item = create(client, ITEMS, headers, name="pen")
    assert item["tags"] == []
    red = create(client, TAGS, headers, name="red")
    blue = create(client, TAGS, headers, name="blue")
    url = f"{ITEMS}/{item['id']}/tags"
    response = client.put(url, json={"tag_ids": [red["id"], blue["id"]]}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert sorted(t["name"] for t in response.get_json()["tags"]) == ["blue", "red"]
    read = client.get(f"{ITEMS}/{item['id']}", headers=headers).get_json()
    assert sorted(t["name"] for t in read["tags"]) == ["blue", "red"]
    client.delete(f"{TAGS}/{red['id']}", headers=headers)
    listed = client.get(ITEMS, headers=headers).get_json()["items"]
    assert [t["name"] for t in listed[0]["tags"]] == ["blue"]


def test_tags_are_private(client: FlaskClient, auth: AuthActions) -> None:
    mine = auth.headers("ada@example.com")
    theirs = auth.headers("bob@example.com")
    tag = create(client, TAGS, mine, name="red")
    item = create(client, ITEMS, theirs, name="pen")
    assert client.get(TAGS, headers=theirs).get_json()["total"] == 0
    assert client.delete(f"{TAGS}/{tag['id']}", headers=theirs).status_code == 404
    url = f"{ITEMS}/{item['id']}/tags"
    response = client.put(url, json={"tag_ids": [tag["id"]]}, headers=theirs)
    assert response.status_code == 404
    assert client.get(TAGS).status_code == 401
