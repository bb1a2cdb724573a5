"""Face detection with the real CenterFace model on scikit-image's photos: what it
finds, where it is stored (per asset version, given faces winning), and when it runs."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest
import pyvips
from skimage import data

from assets import focus as store
from assets.models import Asset, FocusAreas
from transforms import focus
from transforms.ai import faces

pytestmark = pytest.mark.django_db


def _contains(box, point) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def test_the_astronaut_has_one_face_where_her_face_is():
    found = faces.detect(data.astronaut())
    assert len(found) == 1
    x, y, w, h = found[0]
    assert _contains(found[0], (225, 120))  # between her eyes
    assert 60 <= w <= 140 and 80 <= h <= 170


@pytest.mark.parametrize("photo", ["chelsea", "coffee"])
def test_no_face_on_the_cat_or_the_coffee_cup(photo):
    assert faces.detect(getattr(data, photo)()) == []


def test_a_grid_of_faces_finds_every_one():
    face = data.astronaut()[20:220, 130:300]
    rows, cols = 2, 4
    grid = np.concatenate([np.concatenate([face] * cols, axis=1)] * rows, axis=0)
    found = faces.detect(grid)
    assert len(found) == rows * cols
    for r in range(rows):
        for c in range(cols):
            centre = (c * face.shape[1] + 95, r * face.shape[0] + 100)
            assert sum(_contains(b, centre) for b in found) == 1, (r, c, found)


def test_a_large_image_is_scaled_down_and_boxes_come_back_in_its_pixels():
    big = np.kron(data.astronaut(), np.ones((3, 3, 1), np.uint8))  # 1536 x 1536
    found = faces.detect(big)
    assert len(found) == 1
    assert _contains(found[0], (225 * 3, 120 * 3))
    assert 180 <= found[0][2] <= 420


def png_bytes(array: np.ndarray) -> bytes:
    return pyvips.Image.new_from_array(np.ascontiguousarray(array)).pngsave_buffer()


def _asset(upload, image=None, public_id="face"):
    body = png_bytes(image if image is not None else data.astronaut())
    response = upload(body, name="face.png", public_id=public_id, overwrite="true")
    assert response.status_code == 200, response.content
    return Asset.objects.get(public_id=public_id)


def test_ensure_detects_once_and_stores_per_version(upload):
    asset = _asset(upload)
    assert not focus.known(asset)
    found = focus.faces(asset)  # a face-dependent request before the worker
    assert len(found) == 1
    asset.refresh_from_db()
    assert asset.face_coordinates == found and asset.face_count == 1 and focus.known(asset)
    row = FocusAreas.objects.get(asset=asset)
    assert row.source == "detection" and row.faces == found
    assert focus.faces(asset) == found
    assert FocusAreas.objects.filter(asset=asset).count() == 1  # not detected twice


def test_given_faces_override_detection(upload):
    asset = _asset(upload)
    store.save(asset, faces=[[10, 10, 50, 50]], source="update")
    assert faces.ensure(asset) == [[10, 10, 50, 50]]
    assert not store.record_detection(asset, asset.version_id, [[1, 1, 5, 5]])
    asset.refresh_from_db()
    assert asset.face_coordinates == [[10, 10, 50, 50]]


def test_the_worker_task_skips_a_replaced_version(upload):
    asset = _asset(upload)
    assert faces.detect_faces(asset.pk, "not-the-version") == "skipped: gone or replaced"
    assert faces.detect_faces(asset.pk, asset.version_id) == "1 faces"
    assert faces.detect_faces(asset.pk, asset.version_id) == "skipped: known"


def test_an_overwrite_forgets_the_old_versions_faces(upload):
    asset = _asset(upload)
    focus.faces(asset)
    _asset(upload, data.coffee())  # overwrite
    asset.refresh_from_db()
    assert not focus.known(asset) and asset.face_coordinates is None and asset.face_count == 0
    assert focus.faces(asset) == []
    asset.refresh_from_db()
    assert focus.known(asset)


def test_detection_can_be_switched_off(upload, settings):
    settings.DAM_FACE_DETECTION = False
    asset = _asset(upload)
    assert focus.faces(asset) == []
    asset.refresh_from_db()
    assert not focus.known(asset)


def _waiting(queue: str) -> int:
    """Messages waiting on `queue` in the session's broker."""
    from config.celery import app

    with app.connection_for_write() as conn:
        return conn.default_channel.queue_declare(queue=queue).message_count


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_detection_waits_on_the_faces_queue_whose_worker_stores_the_faces(upload, settings, shared_media, tmp_path):
    """Detection waits on a queue of its own (none of the main queue's tasks wait behind it),
    and a worker on that queue alone detects after every upload and overwrite."""
    from tests.worker import start_worker, stop_worker

    main = settings.CELERY_TASK_DEFAULT_QUEUE
    settings.DAM_FACES_QUEUE = own = f"{main}-faces-{uuid.uuid4().hex[:8]}"
    on_main = _waiting(main)
    asset = _asset(upload, public_id="worker-face")
    assert _waiting(own) == 2  # detection and the image metadata (assets.tasks): the analysis queue
    assert _waiting(main) <= on_main  # nothing for the main queue (a session worker may be draining it)
    assert not focus.known(asset)

    log_path = tmp_path / "faces-worker.log"
    worker = start_worker(log_path, consume=(own,))
    try:
        def wait_known(asset, timeout=60.0):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                asset.refresh_from_db()
                if focus.known(asset):
                    return asset
                time.sleep(0.2)
            raise AssertionError(f"no detection within {timeout} s; worker log: {log_path.read_text()[-2000:]}")

        asset = wait_known(asset)
        assert asset.face_count == 1 and _contains(asset.face_coordinates[0], (225, 120))
        assert FocusAreas.objects.get(asset=asset).source == "detection"
        first = asset.version_id
        asset = wait_known(_asset(upload, data.chelsea(), public_id="worker-face"))  # overwrite: detected again
        assert asset.version_id != first and asset.face_coordinates == [] and asset.face_count == 0
        # the version's image metadata task (queued after detection) drains from the same queue
        deadline = time.monotonic() + 60.0
        while _waiting(own) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _waiting(own) == 0
    finally:
        stop_worker(worker)


def test_faces_of_an_exif_rotated_original_are_in_its_upright_pixels(upload):
    stored = pyvips.Image.new_from_array(np.ascontiguousarray(data.astronaut())).rot270().copy()
    stored.set_type(pyvips.GValue.gint_type, "orientation", 6)  # displayed turned 90 degrees clockwise: upright
    response = upload(stored.jpegsave_buffer(Q=92), name="turned.jpg", public_id="turned")
    assert response.status_code == 200, response.content
    asset = Asset.objects.get(public_id="turned")
    found = focus.faces(asset)
    assert len(found) == 1 and _contains(found[0], (225, 120)), found
