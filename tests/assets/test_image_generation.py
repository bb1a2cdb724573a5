"""The Image Generation API (``/v2/generate/<cloud>/...``) against a real OpenAI-compatible images
server the test starts on 127.0.0.1 (port 0): it answers PNGs made with numpy in ``b64_json``, or
is told to fail, to be slow or to answer garbage.

Async tasks run by calling the Celery task in this process (the worker's own function); webhooks go
to a real local HTTP server through the SSRF-guarded POST (private addresses allowed for it, as the
other notification tests do) and their signatures are verified.
"""

from __future__ import annotations

import json
import types
from datetime import timedelta
from urllib.parse import urlsplit

import numpy as np
import pytest
import pyvips
from django.core.files.storage import storages
from django.test import Client
from django.utils import timezone

from assets import capacity, signing
from assets import tasks as asset_tasks
from assets.generation import api as gen_api
from assets.generation import results
from assets.generation import tasks as gen_tasks
from assets.models import ApiKey, Asset, AssetTag, GenerationTask, TemporaryImage, UploadPreset
from tests.admin_client import basic
from tests.conftest import CLOUD
from tests.images_server import configure, picture, running

pytestmark = pytest.mark.django_db

URL = f"/v2/generate/{CLOUD}/text_to_image"


@pytest.fixture
def images_server(settings):
    with running() as state:
        configure(settings, state.url)
        yield state


@pytest.fixture
def editor(db):
    return ApiKey.objects.create(name="gen-editor", role="editor")


def post(key, body, raw: bytes | None = None):
    return Client().post(URL, raw if raw is not None else json.dumps(body), content_type="application/json",
                         HTTP_AUTHORIZATION=basic(key.key, key.secret))


def poll(key, task_id: str):
    return Client().get(f"/v2/generate/{CLOUD}/tasks/{task_id}", HTTP_AUTHORIZATION=basic(key.key, key.secret))


def fetch(url: str):
    parts = urlsplit(url)
    return Client().get(parts.path + (f"?{parts.query}" if parts.query else ""))


def decoded(response) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(b"".join(response.streaming_content) if response.streaming
                                        else response.content, "")


def assert_error(response, status: int, category: str, code: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"category", "code", "message", "details"}
    assert body["error"]["category"] == category
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


# --- synchronous generations ---------------------------------------------------------------------


def test_sync_managed_asset_is_an_ordinary_asset(images_server, editor):
    UploadPreset.objects.create(name="campaign", settings={"folder": "generated/campaign", "tags": "ai,hero"})
    response = post(editor, {"prompt": "A man with a hat", "model": {"family": "flux", "tier": "premium"},
                             "image_size": {"aspect_ratio": "16:9", "resolution": "0.5K"}, "format": "jpeg",
                             "seed": 42, "target": {"target_type": "managed_asset", "public_id": "hat_man",
                                                    "upload_preset": "campaign"}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"request_id", "data", "limits"}
    (entry,) = body["data"]["assets"]
    assert entry["model"] == {"family": "flux", "tier": "premium", "id": "flux-2-pro"}
    assert (entry["width"], entry["height"], entry["format"], entry["seed"]) == (512, 288, "jpeg", 42)
    storage = entry["storage"]
    assert storage["storage_type"] == "managed_asset"
    assert storage["public_id"] == "generated/campaign/hat_man"
    assert (storage["resource_type"], storage["type"]) == ("image", "upload")
    assert body["limits"]["addons_quota"] == [{"type": "image_generation", "used_by_request": 1,
                                               "remaining": 499, "limit": 500}]
    # what the back-end was asked
    (sent,) = images_server.requests
    assert sent["auth"] == "Bearer sk-test-key"
    assert sent["body"] == {"model": "flux-2-pro", "prompt": "A man with a hat", "size": "512x288", "n": 1,
                            "response_format": "b64_json", "seed": 42}
    # an ordinary asset: its row, version, tags, and delivery with a transformation
    asset = Asset.objects.get(public_id="generated/campaign/hat_man")
    assert (asset.asset_id, asset.version) == (storage["asset_id"], storage["version"])
    assert (asset.width, asset.height) == (512, 288)
    assert asset.folder == "generated/campaign"
    assert set(AssetTag.objects.filter(asset=asset).values_list("name", flat=True)) == {"ai", "hero"}
    assert entry["bytes"] == asset.bytes
    delivered = fetch(storage["secure_url"])
    assert delivered.status_code == 200
    original = decoded(delivered)
    assert (original.width, original.height) == (512, 288)
    path = urlsplit(storage["secure_url"]).path.replace(f"/v{asset.version}/", f"/w_100/v{asset.version}/")
    scaled = Client().get(path)
    assert scaled.status_code == 200
    assert decoded(scaled).width == 100
    task = GenerationTask.objects.get(request_id=body["request_id"])
    assert (task.status, task.asynchronous, task.api_key) == ("completed", False, editor.key)


def test_sync_temporary_by_default_with_a_signed_url(images_server, editor, settings):
    settings.DAM_IMAGE_GENERATION_TEMPORARY_TTL = 3600
    before = timezone.now()
    response = post(editor, {"prompt": "A futuristic city skyline at night"})
    assert response.status_code == 200, response.content
    (entry,) = response.json()["data"]["assets"]
    assert entry["model"] == {"family": "nano-banana", "tier": "standard", "id": "nano-banana-1"}
    assert (entry["width"], entry["height"], entry["format"], entry["seed"]) == (1024, 1024, "png", None)
    assert "seed" not in images_server.requests[0]["body"]
    storage = entry["storage"]
    assert set(storage) == {"storage_type", "secure_url", "expires_at"}
    expires = timezone.datetime.fromisoformat(storage["expires_at"].replace("Z", "+00:00"))
    assert timedelta(seconds=3590) < expires - before < timedelta(seconds=3610)
    got = fetch(storage["secure_url"])
    assert got.status_code == 200 and got["Content-Type"] == "image/png"
    image = decoded(got)
    assert (image.width, image.height, image.bands) == (1024, 1024, 3)
    assert not Asset.objects.exists()
    # the signature is the permission
    tampered = storage["secure_url"].replace("signature=", "signature=0")
    assert_error(fetch(tampered), 404, "user_error", "not_found")
    longer = storage["secure_url"].replace("expires=", "expires=1")
    assert_error(fetch(longer), 404, "user_error", "not_found")


def test_temporary_image_expires_and_is_deleted(images_server, editor, monkeypatch):
    response = post(editor, {"prompt": "a lake", "image_size": {"width": 128, "height": 96}, "format": "webp"})
    assert response.status_code == 200, response.content
    url = response.json()["data"]["assets"][0]["storage"]["secure_url"]
    row = TemporaryImage.objects.get()
    assert (row.width, row.height, row.format) == (128, 96, "webp")
    assert storages["default"].exists(row.storage_name)
    assert fetch(url).status_code == 200
    # nothing deleted before its time
    assert gen_tasks.expire_temporary(row.token) is False
    assert gen_tasks.sweep_temporaries() == 0
    later = row.expires_at + timedelta(seconds=1)
    clock = types.SimpleNamespace(now=lambda: later)
    monkeypatch.setattr(results, "dj_timezone", clock)
    monkeypatch.setattr(gen_tasks, "timezone", clock)
    assert_error(fetch(url), 410, "user_error", "expired")
    assert gen_tasks.expire_temporary(row.token) is True
    assert not TemporaryImage.objects.exists()
    assert not storages["default"].exists(row.storage_name)
    assert_error(fetch(url), 404, "user_error", "not_found")


def test_the_sweep_deletes_expired_temporaries(images_server, editor, monkeypatch):
    for prompt in ("one", "two"):
        assert post(editor, {"prompt": prompt, "image_size": {"width": 64, "height": 64}}).status_code == 200
    names = list(TemporaryImage.objects.values_list("storage_name", flat=True))
    TemporaryImage.objects.filter(storage_name=names[0]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert gen_tasks.sweep_temporaries() == 1
    assert not storages["default"].exists(names[0]) and storages["default"].exists(names[1])
    assert TemporaryImage.objects.count() == 1


def test_a_temporary_expiry_is_queued_for_its_time(images_server, editor, monkeypatch,
                                                    django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(gen_tasks.expire_temporary, "apply_async", lambda args, eta: queued.append((args, eta)))
    with django_capture_on_commit_callbacks(execute=True):
        assert post(editor, {"prompt": "x", "image_size": {"width": 64, "height": 64}}).status_code == 200
    row = TemporaryImage.objects.get()
    assert queued == [((row.token,), row.expires_at)]


def test_seed_reaches_the_back_end_and_decides_the_pixels(images_server, editor):
    def pixels(seed):
        response = post(editor, {"prompt": "p", "seed": seed, "image_size": {"width": 64, "height": 64}})
        return decoded(fetch(response.json()["data"]["assets"][0]["storage"]["secure_url"])).numpy().astype(float)

    same = np.abs(pixels(7) - pixels(7)).mean()
    other = np.abs(pixels(7) - pixels(8)).mean()
    assert same == 0 and other > 10
    assert [r["body"]["seed"] for r in images_server.requests] == [7, 7, 7, 8]


# --- asynchronous generations and webhooks ----------------------------------------------------------


def test_async_task_goes_pending_processing_completed_with_a_signed_webhook(
        images_server, editor, settings, http_recorder, monkeypatch, django_capture_on_commit_callbacks):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True  # the webhook receiver is on 127.0.0.1
    queued = []
    monkeypatch.setattr(gen_tasks.run_generation, "apply_async", lambda args, queue=None: queued.append(args))
    monkeypatch.setattr(asset_tasks.send_notification, "delay",
                        lambda *args: asset_tasks.send_notification.apply(args=args))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(editor, {"prompt": "A water bottle on a beach", "async": True, "seed": 3,
                                 "model": {"id": "ideogram-v4-base"},
                                 "target": {"target_type": "managed_asset", "public_id": "beach"},
                                 "notification_url": http_recorder.url + "/generated"})
    assert response.status_code == 202, response.content
    body = response.json()
    task_id = body["data"]["task_id"]
    assert body["data"]["status"] == "pending" and body["data"]["result"] is None
    assert body["data"]["limits"]["addons_quota"][0]["used_by_request"] == 1
    assert queued == [(task_id,)]
    assert poll(editor, task_id).json()["data"]["status"] == "pending"
    assert not images_server.requests  # nothing generated in the request

    seen = []
    real = gen_tasks.backends.generate

    def observing(*args, **kwargs):
        seen.append(poll(editor, task_id).json()["data"]["status"])
        return real(*args, **kwargs)

    monkeypatch.setattr(gen_tasks.backends, "generate", observing)
    with django_capture_on_commit_callbacks(execute=True):
        assert gen_tasks.run_generation(task_id) == "completed"
    assert seen == ["processing"]
    assert gen_tasks.run_generation(task_id) == "skipped"  # a message delivered twice runs once

    done = poll(editor, task_id).json()
    assert done["request_id"] == body["request_id"]
    assert done["data"]["status"] == "completed"
    (entry,) = done["data"]["result"]["assets"]
    assert entry["storage"]["public_id"] == "beach"
    assert entry["model"] == {"family": "ideogram", "tier": "premium", "id": "ideogram-v4-base"}
    assert Asset.objects.filter(public_id="beach", asset_id=entry["storage"]["asset_id"]).exists()

    (hook,) = http_recorder.wait_for(1)
    assert hook["path"] == "/generated"
    text = hook["body"].decode()
    payload = json.loads(text)
    assert payload["notification_type"] == "image_generation"
    assert payload["data"]["task_id"] == task_id and payload["data"]["status"] == "completed"
    assert payload["data"]["result"] == done["data"]["result"]
    timestamp = hook["headers"]["X-Cld-Timestamp"]
    assert hook["headers"]["X-Cld-Signature"] == signing.notification_signature(text, timestamp, editor.secret)


def test_async_failure_is_a_failed_task_its_webhook_and_no_quota_spent(
        images_server, editor, settings, http_recorder, monkeypatch, django_capture_on_commit_callbacks):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
    settings.DAM_IMAGE_GENERATION_RETRIES = 1
    images_server.default = "fail"
    monkeypatch.setattr(gen_tasks.run_generation, "apply_async", lambda args, queue=None: None)
    monkeypatch.setattr(asset_tasks.send_notification, "delay",
                        lambda *args: asset_tasks.send_notification.apply(args=args))
    response = post(editor, {"prompt": "x", "async": True, "notification_url": http_recorder.url + "/h"})
    assert response.status_code == 202
    task_id = response.json()["data"]["task_id"]
    assert response.json()["data"]["limits"]["addons_quota"][0]["remaining"] == 499
    with django_capture_on_commit_callbacks(execute=True):
        assert gen_tasks.run_generation(task_id) == "failed"
    assert len(images_server.requests) == 2  # one retry
    data = poll(editor, task_id).json()["data"]
    assert data["status"] == "failed" and data["result"] is None
    assert data["error"]["category"] == "server_error" and data["error"]["code"] == "backend_error"
    assert "the GPU caught fire" in data["error"]["message"] and "sk-test-key" not in data["error"]["message"]
    assert data["limits"]["addons_quota"][0]["remaining"] == 500  # given back
    (hook,) = http_recorder.wait_for(1)
    assert json.loads(hook["body"])["data"]["status"] == "failed"


def test_pending_async_tasks_per_key_are_bounded(images_server, editor, settings, monkeypatch):
    settings.DAM_IMAGE_GENERATION_MAX_PENDING_PER_KEY = 2
    monkeypatch.setattr(gen_tasks.run_generation, "apply_async", lambda args, queue=None: None)
    for _ in range(2):
        assert post(editor, {"prompt": "x", "async": True}).status_code == 202
    assert_error(post(editor, {"prompt": "x", "async": True}), 429, "rate_limit_error", "too_many_pending")
    assert GenerationTask.objects.count() == 2


# --- quotas and concurrency ------------------------------------------------------------------------


def test_monthly_quota_answers_429_beyond_it(images_server, editor, settings):
    settings.DAM_IMAGE_GENERATION_MONTHLY_QUOTA = 2
    small = {"prompt": "x", "image_size": {"width": 64, "height": 64}}
    remaining = [post(editor, small).json()["limits"]["addons_quota"][0]["remaining"] for _ in range(2)]
    assert remaining == [1, 0]
    error = assert_error(post(editor, small), 429, "rate_limit_error", "quota_exceeded")
    assert error["details"]["limits"]["addons_quota"][0]["remaining"] == 0
    assert len(images_server.requests) == 2  # the refused one never reached the back-end
    other = ApiKey.objects.create(name="other", role="editor")  # per key
    assert post(other, small).status_code == 200


def test_a_failed_generation_spends_no_quota(images_server, editor, settings):
    settings.DAM_IMAGE_GENERATION_MONTHLY_QUOTA = 1
    settings.DAM_IMAGE_GENERATION_RETRIES = 0
    images_server.script = ["fail"]
    assert_error(post(editor, {"prompt": "x"}), 502, "server_error", "backend_error")
    assert post(editor, {"prompt": "x", "image_size": {"width": 64, "height": 64}}).status_code == 200


def test_sync_generations_take_a_capacity_token(images_server, editor, settings):
    settings.DAM_IMAGE_GENERATION_MAX_CONCURRENT = 1
    assert capacity.try_acquire(gen_api.CAPACITY_KIND, 1)
    try:
        response = post(editor, {"prompt": "x"})
        assert_error(response, 429, "rate_limit_error", "too_many_requests")
        assert response["Retry-After"]
    finally:
        capacity.release(gen_api.CAPACITY_KIND)
    assert not images_server.requests
    assert post(editor, {"prompt": "x", "image_size": {"width": 64, "height": 64}}).status_code == 200
    assert capacity.in_use(gen_api.CAPACITY_KIND) == 0


# --- back-end failures ---------------------------------------------------------------------------


def test_back_end_500_is_retried_then_fails(images_server, editor):
    images_server.default = "fail"
    error = assert_error(post(editor, {"prompt": "x"}), 502, "server_error", "backend_error")
    assert "DAM_IMAGE_GENERATION_URL" in error["message"] and "500" in error["message"]
    assert len(images_server.requests) == 3  # DAM_IMAGE_GENERATION_RETRIES = 2
    assert GenerationTask.objects.get().status == "failed"
    assert not TemporaryImage.objects.exists()


def test_back_end_500_then_success_is_a_200(images_server, editor):
    images_server.script = ["fail"]
    assert post(editor, {"prompt": "x", "image_size": {"width": 64, "height": 64}}).status_code == 200
    assert len(images_server.requests) == 2


def test_back_end_time_out(images_server, editor, settings):
    settings.DAM_IMAGE_GENERATION_TIMEOUT = 1
    images_server.default = "slow"
    error = assert_error(post(editor, {"prompt": "x"}), 504, "server_error", "backend_timeout")
    assert "1 s" in error["message"]


@pytest.mark.parametrize("mode, words", [("garbage", "not an image"), ("not_json", "no data[0].b64_json")])
def test_back_end_garbage(images_server, editor, mode, words):
    images_server.default = mode
    error = assert_error(post(editor, {"prompt": "x"}), 502, "server_error", "backend_error")
    assert words in error["message"]
    assert not Asset.objects.exists() and not TemporaryImage.objects.exists()


def test_back_end_answer_bounds(images_server, editor, settings):
    settings.DAM_IMAGE_GENERATION_MAX_BYTES = 1000
    error = assert_error(post(editor, {"prompt": "x"}), 502, "server_error", "backend_error")
    assert "more than 1000 bytes" in error["message"]
    settings.DAM_IMAGE_GENERATION_MAX_BYTES = 10**8
    settings.DAM_IMAGE_GENERATION_MAX_PIXELS = 64 * 64
    from assets.generation import backends

    backend = backends.for_model("nano-banana", "nano-banana-1")
    with pytest.raises(backends.GenerationError, match="more than 4096 pixels"):
        backends.decode(backend, picture(65, 64, 0))


def test_families_map_to_back_ends_and_an_unserved_one_is_a_400(images_server, editor, settings):
    settings.DAM_IMAGE_GENERATION_URL = ""
    settings.DAM_IMAGE_GENERATION_BACKENDS = json.dumps(
        {"flux": {"url": images_server.url, "key": "flux-key", "model": "my-flux", "kind": "openai"},
         "recraft-v4": {"url": images_server.url}})
    small = {"width": 64, "height": 64}
    assert post(editor, {"prompt": "x", "model": {"family": "flux"}, "image_size": small}).status_code == 200
    assert post(editor, {"prompt": "x", "model": {"id": "recraft-v4"}, "image_size": small}).status_code == 200
    assert [(r["body"]["model"], r["auth"]) for r in images_server.requests] == [
        ("my-flux", "Bearer flux-key"), ("recraft-v4", None)]
    error = assert_error(post(editor, {"prompt": "x", "model": {"family": "recraft"}}), 400, "user_error",
                         "model_unavailable")
    assert "DAM_IMAGE_GENERATION_URL" in error["message"] and "DAM_IMAGE_GENERATION_BACKENDS" in error["message"]
    assert_error(post(editor, {"prompt": "x"}), 400, "user_error", "model_unavailable")
    assert len(images_server.requests) == 2 and GenerationTask.objects.count() == 2


def test_no_back_end_at_all_is_a_400_even_async(editor, settings):
    settings.DAM_IMAGE_GENERATION_URL = ""
    settings.DAM_IMAGE_GENERATION_BACKENDS = ""
    assert_error(post(editor, {"prompt": "x", "async": True}), 400, "user_error", "model_unavailable")
    assert not GenerationTask.objects.exists()


def test_a_broken_back_end_setting_is_a_server_error(editor, settings):
    settings.DAM_IMAGE_GENERATION_BACKENDS = "{not json"
    assert_error(post(editor, {"prompt": "x"}), 503, "server_error", "backend_misconfigured")


# --- auth and errors -----------------------------------------------------------------------------


def test_auth(images_server, editor):
    viewer = ApiKey.objects.create(name="viewer", role="viewer")
    assert_error(post(viewer, {"prompt": "x"}), 403, "auth_error", "forbidden")
    response = Client().post(URL, json.dumps({"prompt": "x"}), content_type="application/json")
    assert_error(response, 401, "auth_error", "unauthorized")
    assert "Basic" in response["WWW-Authenticate"]
    wrong = Client().post(URL, "{}", content_type="application/json", HTTP_AUTHORIZATION=basic(editor.key, "nope"))
    assert_error(wrong, 401, "auth_error")
    unknown = Client().post(URL, "{}", content_type="application/json", HTTP_AUTHORIZATION=basic("123", "x"))
    assert_error(unknown, 401, "auth_error")
    other_cloud = Client().post("/v2/generate/elsewhere/text_to_image", "{}", content_type="application/json",
                                HTTP_AUTHORIZATION=basic(editor.key, editor.secret))
    assert_error(other_cloud, 404, "user_error")
    admin = ApiKey.objects.create(name="admin", role="admin")
    assert post(admin, {"prompt": "x", "image_size": {"width": 64, "height": 64}}).status_code == 200
    assert not images_server.requests[1:]


def test_tasks_are_found_by_their_key_only(images_server, editor, monkeypatch):
    monkeypatch.setattr(gen_tasks.run_generation, "apply_async", lambda args, queue=None: None)
    task_id = post(editor, {"prompt": "x", "async": True}).json()["data"]["task_id"]
    viewer = ApiKey.objects.create(name="viewer", role="viewer")
    assert_error(poll(viewer, task_id), 404, "user_error", "not_found")
    assert_error(poll(editor, "0" * 32), 404, "user_error", "not_found")
    assert poll(editor, task_id).status_code == 200


def test_routes_answer_json_only(editor):
    auth = {"HTTP_AUTHORIZATION": basic(editor.key, editor.secret), "HTTP_ACCEPT": "text/html"}
    response = Client().get(URL, **auth)
    assert_error(response, 405, "user_error", "method_not_allowed")
    assert response["Allow"] == "POST"
    assert_error(Client().get(f"/v2/generate/{CLOUD}/image_to_video", **auth), 404, "user_error", "not_found")
    assert_error(Client().delete(f"/v2/generate/{CLOUD}/tasks/abc", **auth), 405, "user_error")
    assert_error(Client().post(URL, "{", content_type="application/json", **auth), 400, "user_error", "invalid_json")
    assert_error(Client().post(URL, "x" * 70000, content_type="application/json", **auth), 400, "user_error")


BAD_REQUESTS = [
    ({}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": 5}, "prompt"),
    ({"prompt": "x" * 4001}, "prompt"),
    ({"prompt": "a\x00b"}, "prompt"),
    ({"prompt": "x", "colour": "red"}, "colour"),
    ({"prompt": "x", "model": "flux"}, "model"),
    ({"prompt": "x", "model": {"family": "dall-e"}}, "model.family"),
    ({"prompt": "x", "model": {"family": "flux", "tier": "ultra"}}, "model.tier"),
    ({"prompt": "x", "model": {"id": "flux-3"}}, "model.id"),
    ({"prompt": "x", "model": {"id": "flux-2-pro", "family": "recraft"}}, "model"),
    ({"prompt": "x", "model": {"tier": "premium"}}, "model"),
    ({"prompt": "x", "image_size": {"width": 63, "height": 64}}, "image_size.width"),
    ({"prompt": "x", "image_size": {"width": 64, "height": 4097}}, "image_size.height"),
    ({"prompt": "x", "image_size": {"width": 64.5, "height": 64}}, "image_size.width"),
    ({"prompt": "x", "image_size": {"width": True, "height": 64}}, "image_size.width"),
    ({"prompt": "x", "image_size": {"width": 64}}, "image_size.height"),
    ({"prompt": "x", "image_size": {"width": 64, "height": 64, "aspect_ratio": "1:1"}}, "image_size"),
    ({"prompt": "x", "image_size": {"aspect_ratio": "2:1"}}, "image_size.aspect_ratio"),
    ({"prompt": "x", "image_size": {"aspect_ratio": "1:1", "resolution": "8K"}}, "image_size.resolution"),
    ({"prompt": "x", "image_size": "1024x1024"}, "image_size"),
    ({"prompt": "x", "format": "gif"}, "format"),
    ({"prompt": "x", "target": {"target_type": "cloud"}}, "target.target_type"),
    ({"prompt": "x", "target": {"target_type": "temporary", "public_id": "a"}}, "target"),
    ({"prompt": "x", "target": {"target_type": "managed_asset", "public_id": "a\x01"}}, "target.public_id"),
    ({"prompt": "x", "target": {"target_type": "managed_asset", "upload_preset": "nope"}}, "target.upload_preset"),
    ({"prompt": "x", "seed": -1}, "seed"),
    ({"prompt": "x", "seed": 2**32}, "seed"),
    ({"prompt": "x", "seed": "7"}, "seed"),
    ({"prompt": "x", "async": "yes"}, "async"),
    ({"prompt": "x", "notification_url": "https://hooks.example/x"}, "notification_url"),
    ({"prompt": "x", "async": True, "notification_url": "ftp://hooks.example/x"}, "notification_url"),
    ({"prompt": "x", "async": True, "notification_url": "http://169.254.169.254/latest"}, "notification_url"),
    ({"prompt": "x", "async": True, "notification_url": "http://10.1.2.3/hook"}, "notification_url"),
    ({"prompt": "x", "async": True, "notification_url": "http://127.0.0.1:9/hook"}, "notification_url"),
]


@pytest.mark.parametrize("body, field", BAD_REQUESTS, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_REQUESTS)])
def test_bad_requests_are_400s_that_store_and_spend_nothing(images_server, editor, body, field):
    error = assert_error(post(editor, body), 400, "user_error")
    assert error["details"]["field"] == field, error
    assert not images_server.requests and not GenerationTask.objects.exists()


def test_size_bounds_follow_the_pixel_setting(images_server, editor, settings):
    settings.DAM_IMAGE_GENERATION_MAX_PIXELS = 1024 * 1024
    error = assert_error(post(editor, {"prompt": "x", "image_size": {"aspect_ratio": "16:9", "resolution": "2K"}}),
                         400, "user_error")
    assert error["details"]["max_pixels"] == 1024 * 1024
    assert_error(post(editor, {"prompt": "x", "image_size": {"width": 2048, "height": 1024}}), 400, "user_error")


@pytest.mark.parametrize("size, expected", [
    ({"aspect_ratio": "1:1"}, (1024, 1024)), ({"aspect_ratio": "16:9", "resolution": "2K"}, (2048, 1152)),
    ({"aspect_ratio": "9:16", "resolution": "0.5K"}, (288, 512)), ({"aspect_ratio": "4:3"}, (1024, 768)),
    ({"aspect_ratio": "3:4", "resolution": "4K"}, (3072, 4096)), ({"width": 100, "height": 4096}, (100, 4096)),
])
def test_declared_sizes(size, expected):
    from assets.generation.request import parse

    req = parse({"prompt": "x", "image_size": size})
    assert (req.width, req.height) == expected


# --- a real worker ---------------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_async_generation_in_a_real_worker_with_its_webhook(images_server, settings, http_recorder, shared_media,
                                                             tmp_path):
    """The worker process registers the generation task (assets.apps), runs it on its queue,
    stores the asset and POSTs the signed webhook itself."""
    from tests.worker import start_worker, stop_worker

    key = ApiKey.objects.create(name="gen-worker", role="editor")
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-generation"
    settings.DAM_IMAGE_GENERATION_QUEUE = queue
    worker = start_worker(tmp_path / "worker.log", {"DAM_IMAGE_GENERATION_URL": images_server.url,
                                                   "DAM_IMAGE_GENERATION_KEY": "sk-test-key"}, queue=queue)
    try:
        settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True
        response = post(key, {"prompt": "A futuristic city skyline at night", "async": True, "seed": 5,
                              "image_size": {"width": 96, "height": 64},
                              "target": {"target_type": "managed_asset", "public_id": "worker/city"},
                              "notification_url": http_recorder.url + "/done"})
        assert response.status_code == 202, response.content
        task_id = response.json()["data"]["task_id"]
        received = http_recorder.wait_for(1, timeout=60)
        assert received, (tmp_path / "worker.log").read_text()[-3000:]
        text = received[0]["body"].decode()
        assert received[0]["headers"]["X-Cld-Signature"] == signing.notification_signature(
            text, received[0]["headers"]["X-Cld-Timestamp"], key.secret)
        data = poll(key, task_id).json()["data"]
        assert data["status"] == "completed", data
        assert json.loads(text)["data"]["result"] == data["result"]
        storage = data["result"]["assets"][0]["storage"]
        image = decoded(fetch(storage["secure_url"]))
        assert (image.width, image.height) == (96, 64)
        assert images_server.requests[0]["body"]["seed"] == 5
    finally:
        stop_worker(worker)


def test_an_async_result_names_the_host_the_request_came_to(
        images_server, editor, settings, monkeypatch, django_capture_on_commit_callbacks):
    """The worker has no request: the result URLs take the scheme and host of the one that queued it
    (before, they named http://localhost:8000 whatever the server's address)."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.2"]
    monkeypatch.setattr(gen_tasks.run_generation, "apply_async", lambda args, queue=None: None)
    ids = []
    for target in ({"target_type": "temporary"}, {"target_type": "managed_asset", "public_id": "hosted"}):
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post(f"/v2/generate/{CLOUD}/text_to_image",
                                     json.dumps({"prompt": "p", "async": True, "target": target,
                                                 "image_size": {"width": 64, "height": 64}}),
                                     content_type="application/json", HTTP_HOST="127.0.0.2:8811",
                                     HTTP_AUTHORIZATION=basic(editor.key, editor.secret))
        assert response.status_code == 202, response.content
        ids.append(response.json()["data"]["task_id"])
    urls = []
    for task_id in ids:
        assert gen_tasks.run_generation(task_id) == "completed"
        (entry,) = GenerationTask.objects.get(task_id=task_id).result["assets"]
        urls.append(entry["storage"]["secure_url"])
    assert all(urlsplit(url).netloc == "127.0.0.2:8811" for url in urls), urls
    assert urlsplit(urls[0]).path.startswith(f"/v2/generate/{CLOUD}/temporary/")
    assert fetch(urls[0]).status_code == 200  # the path and its signature still work
