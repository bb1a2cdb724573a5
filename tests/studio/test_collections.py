"""Collections without a browser (Django client): create, add from the bulk bar and the asset
page, reorder without a script, remove, rename, delete; share links: the anonymous page, the
same 404 for unknown, revoked and expired tokens, roles, bounds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from assets.models import ApiKey, Collection, CollectionItem, ShareLink
from studio import views_collections
from tests.studio_fixtures import asset_row, login, users  # noqa: F401


def order(collection) -> list[str]:
    return list(collection.items.order_by("position", "id").values_list("asset__public_id", flat=True))


@pytest.fixture
def three(db):
    return [asset_row(p) for p in ("trips/a", "shoes/b", "c")]


@pytest.mark.django_db
def test_the_bulk_bar_adds_to_a_new_collection_it_names(login, three):
    client = login("editor")
    response = client.post("/library/-/bulk/", {"action": "collect", "collection_name": "  ", "ids": [three[0].asset_id],
                                                "next": "/library/"}, follow=True)
    assert "Choose a collection or name a new one" in response.content.decode() and not Collection.objects.exists()
    response = client.post("/library/-/bulk/", {"action": "collect", "collection_name": " Spring  sale ",
                                                "ids": [a.asset_id for a in three], "next": "/library/"}, follow=True)
    collection = Collection.objects.get()
    assert collection.name == "Spring sale" and order(collection) == ["c", "shoes/b", "trips/a"]
    assert "Added 3 assets to the collection Spring sale." in response.content.decode()


@pytest.mark.django_db
def test_create_add_reorder_remove_rename_delete(login, three):
    client = login("editor")
    response = client.post("/collections/", {"name": "  Summer   picks "}, follow=True)
    collection = Collection.objects.get()
    assert collection.name == "Summer picks" and "Created the collection Summer picks." in response.content.decode()
    # from the library's bulk bar (three folders), again (no duplicates), and from the asset page
    response = client.post("/library/-/bulk/", {"action": "collect", "collection": collection.pk,
                                                "ids": [a.asset_id for a in three[:2]], "next": "/library/"},
                           follow=True)
    assert "Added 2 assets to the collection Summer picks." in response.content.decode()
    response = client.post("/library/-/bulk/", {"action": "collect", "collection": collection.pk,
                                                "ids": [a.asset_id for a in three], "next": "/library/"}, follow=True)
    assert "Added 1 asset to the collection Summer picks. 2 were in it already." in response.content.decode()
    assert order(collection) == ["shoes/b", "trips/a", "c"]  # each call appends in public_id order
    page = client.get(f"/collections/{collection.pk}/").content.decode()
    assert page.index("shoes/b") < page.index("trips/a") < page.index(">c<")

    items = list(collection.items.order_by("position"))
    client.post(f"/collections/{collection.pk}/items/{items[2].pk}/move/", {"direction": "up"})
    assert order(collection) == ["shoes/b", "c", "trips/a"]
    client.post(f"/collections/{collection.pk}/items/{items[0].pk}/move/", {"direction": "up"})  # first: stays
    client.post(f"/collections/{collection.pk}/items/{items[0].pk}/move/", {"direction": "down"})
    assert order(collection) == ["c", "shoes/b", "trips/a"]
    bad = client.post(f"/collections/{collection.pk}/items/{items[0].pk}/move/", {"direction": "sideways"},
                      follow=True)
    assert "Move an item up or down." in bad.content.decode()

    client.post(f"/collections/{collection.pk}/items/{items[1].pk}/remove/")
    assert order(collection) == ["c", "shoes/b"]
    client.post(f"/collections/{collection.pk}/rename/", {"name": "Best"})
    collection.refresh_from_db()
    assert collection.name == "Best"
    empty = client.post(f"/collections/{collection.pk}/rename/", {"name": "   "}, follow=True)
    assert "Enter a name." in empty.content.decode() or "This field is required." in empty.content.decode()

    confirm = client.post(f"/collections/{collection.pk}/delete/")
    assert confirm.status_code == 200 and Collection.objects.exists()
    client.post(f"/collections/{collection.pk}/delete/", {"confirm": "1"})
    assert not Collection.objects.exists() and not CollectionItem.objects.exists()
    assert len(three) == 3 and all(type(a).objects.filter(pk=a.pk).exists() for a in three)


@pytest.mark.django_db
def test_bulk_collect_needs_a_collection(login, three):
    response = login("editor").post("/library/-/bulk/", {"action": "collect", "ids": [three[0].asset_id],
                                                         "next": "/library/"}, follow=True)
    assert "Choose a collection or name a new one to add the assets to." in response.content.decode()
    gone = login("editor").post("/library/-/bulk/", {"action": "collect", "collection": 999,
                                                     "ids": [three[0].asset_id], "next": "/library/"}, follow=True)
    assert "That collection does not exist any more." in gone.content.decode()


@pytest.mark.django_db
def test_viewers_see_collections_but_do_not_edit_them(login, three, users):
    collection = Collection.objects.create(name="Mine")
    views_collections.add_assets(collection, three)
    client = login("viewer")
    assert "Mine" in client.get("/collections/").content.decode()
    page = client.get(f"/collections/{collection.pk}/").content.decode()
    assert "trips/a" in page and "Share links" not in page and "Remove" not in page
    assert client.post("/collections/", {"name": "x"}).status_code == 403
    assert client.post(f"/collections/{collection.pk}/share/", {}).status_code == 403
    assert client.post(f"/collections/{collection.pk}/delete/", {"confirm": "1"}).status_code == 403
    assert Client().get("/collections/").status_code == 302  # anonymous: to the login page


@pytest.mark.django_db
def test_share_link_shows_the_collection_and_the_same_404_when_gone(login, three, users):
    collection = Collection.objects.create(name="Shared")
    views_collections.add_assets(collection, three)
    three[2].type = "private"
    three[2].save()
    ApiKey.objects.create(name="signing")  # its secret signs the private asset's URLs
    client = login("editor")
    response = client.post(f"/collections/{collection.pk}/share/", {"expires_at": ""}, follow=True)
    link = ShareLink.objects.get()
    assert len(link.token) == 32 and f"/share/{link.token}/" in response.content.decode()

    anonymous = Client()
    page = anonymous.get(f"/share/{link.token}/")
    html = page.content.decode()
    assert page.status_code == 200 and "Shared" in html and "3 images" in html
    assert "Log out" not in html and "Library" not in html  # no app chrome
    assert page["Referrer-Policy"] == "no-referrer"
    assert "/image/private/s--" in html  # the private asset's URLs are signed
    assert html.count("fl_attachment") == 3

    unknown = anonymous.get("/share/" + "x" * 32 + "/")
    client.post(f"/collections/{collection.pk}/share/{link.pk}/revoke/")
    revoked = anonymous.get(f"/share/{link.token}/")
    expired_link = ShareLink.objects.create(collection=collection, expires_at=timezone.now() + timedelta(hours=1))
    ShareLink.objects.filter(pk=expired_link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = anonymous.get(f"/share/{expired_link.token}/")
    short = anonymous.get("/share/abc/")
    assert unknown.status_code == revoked.status_code == expired.status_code == short.status_code == 404
    assert unknown.content == revoked.content == expired.content  # no oracle


@pytest.mark.django_db
def test_share_expiry_must_be_in_the_future(login, three):
    collection = Collection.objects.create(name="S")
    client = login("editor")
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/collections/{collection.pk}/share/", {"expires_at": past}, follow=True)
    assert "Choose an expiry in the future" in response.content.decode() and not ShareLink.objects.exists()
    junk = client.post(f"/collections/{collection.pk}/share/", {"expires_at": "soon"}, follow=True)
    assert junk.status_code == 200 and not ShareLink.objects.exists()
    future = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"/collections/{collection.pk}/share/", {"expires_at": future})
    assert ShareLink.objects.get().expires_at > timezone.now()


@pytest.mark.django_db
def test_share_page_is_paginated(login, monkeypatch):
    monkeypatch.setattr(views_collections, "SHARE_PAGE", 2)
    collection = Collection.objects.create(name="Big")
    views_collections.add_assets(collection, [asset_row(f"p/{i}") for i in range(5)])
    link = ShareLink.objects.create(collection=collection)
    html = Client().get(f"/share/{link.token}/").content.decode()
    assert "Page 1 of 3" in html and html.count("share-tile") == 2
    assert "Page 3 of 3" in Client().get(f"/share/{link.token}/?page=99").content.decode()
