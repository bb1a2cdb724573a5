"""Chunked uploads keep nothing on the web host's disk (issue 15, item 6): the session is a
``ChunkSession`` row, each chunk an object of the default storage, assembled when the last
byte arrives; rows and objects go when the upload completes or is abandoned."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import pyvips
from django.conf import settings
from django.core.files.storage import storages
from django.utils import timezone

from assets import chunks
from assets.models import Asset, ChunkSession
from tests.conftest import CLOUD, make_image, signed

pytestmark = pytest.mark.django_db


def send(client, piece: bytes, start: int, total, upload_id: str, params: dict):
    data = {**params, "file": io.BytesIO(piece)}
    data["file"].name = "blob"
    return client.post(f"/v1_1/{CLOUD}/image/upload", data,
                       HTTP_CONTENT_RANGE=f"bytes {start}-{start + len(piece) - 1}/{total}",
                       HTTP_X_UNIQUE_UPLOAD_ID=upload_id)


def objects(upload_id: str) -> list[str]:
    storage = storages["default"]
    folder = f"chunks/s-{upload_id}"
    try:
        return sorted(storage.listdir(folder)[1])
    except FileNotFoundError:
        return []


def pixels_of(public_id: str) -> np.ndarray:
    with storages["default"].open(Asset.objects.get(public_id=public_id).storage_name) as fh:
        return pyvips.Image.new_from_buffer(fh.read(), "").numpy()


def test_chunks_are_objects_and_a_row_until_the_last_byte(client, api_key):
    data = make_image(160, 90, fmt="png", seed=4)
    third = len(data) // 3
    pieces = [(0, data[:third]), (third, data[third:2 * third]), (2 * third, data[2 * third:])]
    upload_id = uuid.uuid4().hex
    params = signed({"public_id": "sessions/pic"}, api_key)
    # out of order, the middle one first; the total unknown (-1) until the last chunk
    first = send(client, pieces[1][1], pieces[1][0], -1, upload_id, params)
    assert first.status_code == 200 and first.json()["done"] is False, first.content
    assert first.json()["public_id"] == "sessions/pic" and first.json()["total_bytes"] is None
    session = ChunkSession.objects.get(upload_id=upload_id)
    assert session.ranges == [[third, 2 * third - 1]] and session.public_id == "sessions/pic"
    assert objects(upload_id) == [f"{third}-{2 * third - 1}"]
    assert not (Path(settings.VAR_DIR) / "chunks").exists()  # nothing on the host's own disk

    # a first piece of garbage, then the same range again with the right bytes: it replaces the object
    assert send(client, b"\0" * third, 0, -1, upload_id, params).status_code == 200
    again = send(client, pieces[0][1], 0, -1, upload_id, params)
    # (the storage may suffix the new object's name: the row records which it is)
    names = [name.split("_")[0] for name in objects(upload_id)]
    assert again.json()["bytes"] == 2 * third and sorted(names) == sorted([f"0-{third - 1}", f"{third}-{2 * third - 1}"])
    # an overlapping chunk (the middle one's tail again, and the last one)
    start = 2 * third - 10
    done = send(client, data[start:], start, len(data), upload_id, params)
    assert done.status_code == 200, done.content
    assert (done.json()["public_id"], done.json()["width"], done.json()["bytes"]) == ("sessions/pic", 160, len(data))
    assert np.array_equal(pixels_of("sessions/pic"), pyvips.Image.new_from_buffer(data, "").numpy())
    assert not ChunkSession.objects.exists() and objects(upload_id) == []


def test_a_refused_first_chunk_leaves_no_row_nor_object(client, api_key):
    upload_id = uuid.uuid4().hex
    answer = send(client, b"x" * 100, 0, 1000, upload_id, signed({"public_id": "bad//id"}, api_key))
    assert answer.status_code == 400, answer.content
    assert not ChunkSession.objects.exists() and objects(upload_id) == []


def test_stale_sessions_are_swept_with_their_objects(client, api_key):
    data = make_image(60, 40, fmt="png", seed=5)
    stale = [uuid.uuid4().hex for _ in range(chunks.SWEEP_AT_MOST + 2)]
    for upload_id in stale:
        assert send(client, data[:50], 0, len(data), upload_id, signed({}, api_key)).status_code == 200
    old = timezone.now() - timedelta(seconds=chunks.STALE_AFTER + 60)
    ChunkSession.objects.filter(upload_id__in=stale).update(updated=old)
    fresh = uuid.uuid4().hex
    assert send(client, data[:50], 0, len(data), fresh, signed({}, api_key)).status_code == 200
    left = set(ChunkSession.objects.values_list("upload_id", flat=True))
    assert fresh in left and len(left & set(stale)) == 2  # bounded: at most SWEEP_AT_MOST per call
    assert sum(1 for upload_id in stale if objects(upload_id)) == 2
    assert send(client, data[50:100], 50, len(data), fresh, signed({}, api_key)).status_code == 200
    assert set(ChunkSession.objects.values_list("upload_id", flat=True)) == {fresh}
