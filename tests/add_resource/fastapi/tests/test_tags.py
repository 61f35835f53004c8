from helpers import Headers, create
from httpx import AsyncClient

TAGS = "/api/v1/tags"
ITEMS = "/api/v1/items"


async def test_create_list_and_delete(client: AsyncClient, auth_headers: Headers) -> None:
    tag = await create(client, TAGS, auth_headers, name="red")
    assert tag["name"] == "red"
    assert tag["created_at"].endswith("Z")
    duplicate = await client.post(TAGS, json={"name": "red"}, headers=auth_headers)
    assert duplicate.status_code == 409
    page = (await client.get(TAGS, headers=auth_headers)).json()
    assert page["total"] == 1
    assert [t["name"] for t in page["items"]] == ["red"]
    assert (await client.delete(f"{TAGS}/{tag['id']}", headers=auth_headers)).status_code == 204
    assert (await client.delete(f"{TAGS}/{tag['id']}", headers=auth_headers)).status_code == 404


async def test_an_item_gets_its_tags(client: AsyncClient, auth_headers: Headers) -> None:
    item = await create(client, ITEMS, auth_headers, name="pen")
    assert item["tags"] == []
    red = await create(client, TAGS, auth_headers, name="red")
    blue = await create(client, TAGS, auth_headers, name="blue")
    url = f"{ITEMS}/{item['id']}/tags"
    response = await client.put(
        url, json={"tag_ids": [red["id"], blue["id"]]}, headers=auth_headers
    )
    assert response.status_code == 200, response.text
    assert sorted(t["name"] for t in response.json()["tags"]) == ["blue", "red"]
    read = (await client.get(f"{ITEMS}/{item['id']}", headers=auth_headers)).json()
    assert sorted(t["name"] for t in read["tags"]) == ["blue", "red"]
    await client.delete(f"{TAGS}/{red['id']}", headers=auth_headers)
    listed = (await client.get(ITEMS, headers=auth_headers)).json()["items"]
    assert [t["name"] for t in listed[0]["tags"]] == ["blue"]


async def test_tags_are_private(
    client: AsyncClient, auth_headers: Headers, other_auth_headers: Headers
) -> None:
    tag = await create(client, TAGS, auth_headers, name="red")
    item = await create(client, ITEMS, other_auth_headers, name="pen")
    page = (await client.get(TAGS, headers=other_auth_headers)).json()
    assert page["total"] == 0
    response = await client.delete(f"{TAGS}/{tag['id']}", headers=other_auth_headers)
    assert response.status_code == 404
    url = f"{ITEMS}/{item['id']}/tags"
    response = await client.put(url, json={"tag_ids": [tag["id"]]}, headers=other_auth_headers)
    assert response.status_code == 404
    assert (await client.get(TAGS)).status_code == 401
