"""ImageKit delivery over HTTP (transforms.imagekit.views): ``/ik/<cloud>/tr:<steps>/<path>``
and ``?tr=``, one derived row shared with the Cloudinary twin, conditional GET and HEAD, the
errors, the memo, ``ik-s``/``ik-t`` signatures and the intermediate response while an AI
result is computed (a real ISNet run, in this process)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time

import numpy as np
import pytest
import pyvips
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.urls import resolve

from assets.bodyguard import BodyGuard
from assets.models import Asset, UploadMapping
from tests.conftest import CLOUD, make_image
from tests.sdk_fixtures import remote_files  # noqa: F401  (fixture)
from tests.cutouts import centre, corners, scene
from tests.wsgi import Counting, call
from transforms.ai import jobs
from transforms.cloudinary import named
from transforms.cloudinary.route import DELIVERY
from transforms.imagekit import signatures
from transforms.imagekit.route import DELIVERY as IK_DELIVERY
from transforms.memo import DeliveryMemo
from transforms.models import DerivedImage
from transforms.models_ai import AIResult

IK = f"/ik/{CLOUD}"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def pixels(response) -> np.ndarray:
    return pyvips.Image.new_from_buffer(body(response), "").numpy()


def message_of(response) -> str:
    message = json.loads(response.content)["error"]["message"]
    assert response["X-Cld-Error"] == message
    return message


@pytest.fixture
def pic(db, upload):
    assert upload(make_image(120, 90, "jpg"), name="pic.jpg", public_id="shop/pic").status_code == 200
    return Asset.objects.get(public_id="shop/pic")


# --- routing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"{IK}/tr:w-300/a.jpg", f"{IK}/a.jpg", f"{IK}/folder/sub/name.png",
                                  "/ik/other/tr:w-1:rt-90/x"])
def test_imagekit_urls_reach_the_imagekit_view_and_never_the_cloudinary_one(path):
    assert IK_DELIVERY.match(path[1:]) is not None
    assert resolve(path).url_name == "delivery-imagekit"
    assert DELIVERY.match(path[1:]) is None


def test_a_cloud_named_ik_cannot_shadow_the_endpoint():
    assert DELIVERY.match("ik/image/upload/x.jpg") is None


# --- the image ---------------------------------------------------------------------------------


def test_path_and_query_forms_give_the_same_image_and_one_row(client, pic):
    by_path = client.get(f"{IK}/tr:w-60/shop/pic.jpg")
    assert by_path.status_code == 200, by_path.content
    assert by_path["Content-Type"] == "image/jpeg"
    assert pixels(by_path).shape[:2] == (45, 60)
    by_query = client.get(f"{IK}/shop/pic.jpg?tr=w-60")
    assert by_query.status_code == 200
    assert by_query["ETag"] == by_path["ETag"]
    assert DerivedImage.objects.count() == 1


def test_an_imagekit_url_and_its_cloudinary_twin_share_one_row(client, pic):
    ik = client.get(f"{IK}/tr:w-60,rt-90/shop/pic.png")
    assert ik.status_code == 200, ik.content
    assert DerivedImage.objects.count() == 1
    twin = client.get(f"/{CLOUD}/image/upload/w_60,a_90/shop/pic.png")
    assert twin.status_code == 200
    assert twin["ETag"] == ik["ETag"]
    assert DerivedImage.objects.count() == 1  # the second request was a hit
    assert pixels(twin).shape[:2] == (60, 45)  # scaled to 60 wide, then turned


def test_chained_steps_apply_in_order(client, pic):
    resized_then_turned = pixels(client.get(f"{IK}/tr:w-60:rt-90/shop/pic.png"))
    turned_then_resized = pixels(client.get(f"{IK}/tr:rt-90:w-60/shop/pic.png"))
    assert resized_then_turned.shape[:2] == (60, 45)
    assert turned_then_resized.shape[:2] == (80, 60)


def test_public_ids_with_folders(client, upload):
    assert upload(make_image(80, 40), public_id="folder/sub/name").status_code == 200
    response = client.get(f"{IK}/tr:w-20/folder/sub/name.jpg")
    assert response.status_code == 200, response.content
    assert pixels(response).shape[:2] == (10, 20)
    assert response["Content-Disposition"].endswith('"name.jpg"')


def test_the_extension_picks_the_format_unless_f_says_otherwise(client, pic):
    plain = client.get(f"{IK}/shop/pic.jpg")
    assert plain.status_code == 200 and plain["Content-Type"] == "image/jpeg"
    assert plain["ETag"].strip('"') == pic.etag  # the original, as stored
    as_png = client.get(f"{IK}/shop/pic.png")
    assert as_png.status_code == 200 and as_png["Content-Type"] == "image/png"
    assert pixels(as_png).shape[:2] == (90, 120)
    forced = client.get(f"{IK}/shop/pic.jpg?tr=f-webp,w-30")
    assert forced.status_code == 200, forced.content
    assert forced["Content-Type"] == "image/webp"
    assert pixels(forced).shape[:2] in ((22, 30), (23, 30))


def test_orig_true_is_the_stored_original(client, pic):
    response = client.get(f"{IK}/tr:orig-true/shop/pic.jpg")
    assert response.status_code == 200, response.content
    assert response["ETag"].strip('"') == pic.etag
    assert hashlib.md5(body(response)).hexdigest() == pic.etag
    assert DerivedImage.objects.count() == 0


def test_a_base64_value_with_a_slash_in_the_decoded_path(client, pic):
    """``ie-SGk%2FIHlvdQ%3D%3D`` ("Hi? you") reaches the view decoded, its "/" a separator."""
    escaped = client.get(f"{IK}/tr:l-text,ie-SGk%2FIHlvdQ%3D%3D,fs-20,co-FFFFFF,l-end/shop/pic.png")
    assert escaped.status_code == 200, escaped.content
    assert pixels(escaped).shape[:2] == (90, 120)
    plain = client.get(f"{IK}/tr:l-text,i-Hi%3F%20you,fs-20,co-FFFFFF,l-end/shop/pic.png")
    assert plain["ETag"] == escaped["ETag"]  # the same text, the same rendering


def test_other_query_parameters_are_ignored(client, pic):
    first = client.get(f"{IK}/shop/pic.jpg?tr=w-60")
    sdk = client.get(f"{IK}/shop/pic.jpg?ik-sdk-version=javascript-5.5.1&tr=w-60&updatedAt=1700000000")
    assert sdk.status_code == 200 and sdk["ETag"] == first["ETag"]
    assert DerivedImage.objects.count() == 1


def test_a_missing_asset_of_an_upload_mapped_folder_is_fetched_first(client, db, remote_files, settings):
    settings.DAM_ALLOW_PRIVATE_REMOTE_URLS = True  # the test's file server is on the loopback
    cache.clear()  # remembered misses (assets.mappings.MISS_SECONDS) of earlier tests
    base = remote_files("/images/cat.jpg", make_image(40, 30)).rsplit("/cat.jpg", 1)[0]
    UploadMapping.objects.create(folder="remote", template=base)
    response = client.get(f"{IK}/tr:w-20/remote/cat.jpg")
    assert response.status_code == 200, response.content
    assert pixels(response).shape[:2] == (15, 20)
    assert Asset.objects.get().public_id == "remote/cat"


# --- HTTP: conditional GET, HEAD, methods, errors ----------------------------------------------


def test_etag_304_and_head(client, pic):
    url = f"{IK}/tr:w-50/shop/pic.jpg"
    first = client.get(url)
    assert first.status_code == 200
    assert first["Cache-Control"].startswith("public")
    assert first["Access-Control-Allow-Origin"] == "*"
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and not body(again)
    head = client.head(url)
    assert head.status_code == 200 and not body(head)
    assert head["Content-Length"] == first["Content-Length"] and head["ETag"] == first["ETag"]
    assert client.post(url).status_code == 405


@pytest.mark.parametrize("url,status,words", [
    ("/ik/nocloud/tr:w-50/shop/pic.jpg", 404, "cloud_name"),
    (f"{IK}/tr:w-50/shop/missing.jpg", 404, "Resource not found"),
    (f"{IK}/missing.jpg", 404, "Resource not found"),
    (f"{IK}/tr:w-50/shop/pic.jpg?tr=h-20", 400, "both"),
    (f"{IK}/shop/pic.jpg?tr=w-50&tr=h-20", 400, "more than once"),
    (f"{IK}/tr:/shop/pic.jpg", 400, "tr"),
    (f"{IK}/tr:w-50", 400, "missing"),
    (f"{IK}/shop/pic.jpg?tr=zz-1", 400, ""),
    (f"{IK}/shop/pic.jpg?tr=w-abc", 400, ""),
    (f"{IK}/shop//pic.jpg", 400, "empty"),
])
def test_errors_are_cloudinary_json_with_x_cld_error(client, pic, url, status, words):
    response = client.get(url)
    assert response.status_code == status, (url, response.content)
    assert words in message_of(response)
    assert response["Cache-Control"] == "no-store"


# --- signatures --------------------------------------------------------------------------------


def sdk_signed(secret: str, relative: str, expires_at: int | None = None) -> str:
    """`relative` (after the endpoint) signed as the npm SDKs sign it (getSignature)."""
    stamp = str(expires_at) if expires_at else "9999999999"
    signature = hmac.new(secret.encode(), (relative + stamp).encode(), hashlib.sha1).hexdigest()
    joiner = "&" if "?" in relative else "?"
    expiry = f"ik-t={expires_at}&" if expires_at else ""
    return f"{IK}/{relative}{joiner}{expiry}ik-s={signature}"


def test_signed_urls_path_and_query(client, pic, api_key):
    for relative in ("tr:w-40/shop/pic.jpg", "shop/pic.jpg?tr=w-40", "shop/pic.jpg?tr=w-40&x=1"):
        response = client.get(sdk_signed(api_key.secret, relative))
        assert response.status_code == 200, (relative, response.content)
        assert pixels(response).shape[1] == 40
    later = client.get(sdk_signed(api_key.secret, "tr:w-40/shop/pic.jpg", int(time.time()) + 600))
    assert later.status_code == 200


def test_bad_and_expired_signatures_are_401(client, pic, api_key):
    good = sdk_signed(api_key.secret, "tr:w-40/shop/pic.jpg", int(time.time()) + 600)
    assert "ik-t=" in good
    tampered = good.replace("w-40", "w-41")
    assert "Invalid signature" in message_of(client.get(tampered))
    other_key = sdk_signed("not-the-secret", "tr:w-40/shop/pic.jpg")
    response = client.get(other_key)
    assert response.status_code == 401 and "Invalid signature" in message_of(response)
    stamp = good.split("ik-t=")[1].split("&")[0]
    moved = good.replace(f"ik-t={stamp}", f"ik-t={int(stamp) + 60}")
    assert client.get(moved).status_code == 401  # the expiry is signed
    expired = client.get(sdk_signed(api_key.secret, "tr:w-40/shop/pic.jpg", int(time.time()) - 5))
    assert expired.status_code == 401 and "expired" in message_of(expired)
    alone = client.get(f"{IK}/tr:w-40/shop/pic.jpg?ik-t={int(time.time()) + 60}")
    assert alone.status_code == 401 and "ik-s" in message_of(alone)
    assert client.get(f"{IK}/tr:w-40/shop/pic.jpg?ik-s=zz").status_code == 401


def test_the_signed_text_is_what_the_sdk_signs():
    """npm imagekit 6.0.0 builder.ts, its comment's example: the endpoint and "/" cut off,
    the query kept, the expiry appended."""
    text = signatures.signed_text("tr:w-400:rotate-91/sample/testing-file.jpg", "param1=123&ik-t=1&ik-s=ab", "1")
    assert text == "tr:w-400:rotate-91/sample/testing-file.jpg?param1=1231"
    assert signatures.signed_text("a.jpg", "ik-s=ab", None) == "a.jpg9999999999"


def test_strict_mode_holds_for_imagekit_urls(client, pic, api_key):
    named.create("ik_small", "c_scale,w_20", allowed_for_strict=True)
    named.set_strict(True)
    refused = client.get(f"{IK}/tr:w-33/shop/pic.jpg")
    assert refused.status_code == 401 and "not allowed" in message_of(refused)
    assert client.get(f"{IK}/tr:n-ik_small/shop/pic.jpg").status_code == 200  # allowed named one
    assert client.get(sdk_signed(api_key.secret, "tr:w-33/shop/pic.jpg")).status_code == 200
    assert client.get(f"{IK}/tr:w-33/shop/pic.jpg").status_code == 200  # stored now: served, as Cloudinary does


# --- the memo (production WSGI stack) --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_memo_answers_repeated_imagekit_urls_and_never_signed_ones(upload, api_key):
    assert upload(make_image(120, 90, "jpg"), public_id="shop/memo").status_code == 200
    counter = Counting(BodyGuard(WSGIHandler()))
    memo = DeliveryMemo(counter)
    for path, query in ((f"{IK}/tr:w-30/shop/memo.jpg", ""), (f"{IK}/shop/memo.jpg", "tr=w-30&ik-sdk-version=x")):
        first = call(memo, path, query=query)
        calls = counter.calls
        second = call(memo, path, query=query)
        assert first.status == second.status == 200 and first.body == second.body
        assert counter.calls == calls  # answered from memory
    assert DerivedImage.objects.count() == 1
    signed = sdk_signed(api_key.secret, "tr:w-30/shop/memo.jpg")
    path, query = signed.split("?")
    calls = counter.calls
    assert call(memo, path, query=query).status == 200 and call(memo, path, query=query).status == 200
    assert counter.calls == calls + 2  # a signature (and its expiry) is checked every time
    Asset.objects.filter(public_id="shop/memo").delete()
    assert call(memo, f"{IK}/tr:w-30/shop/memo.jpg").status == 404


# --- the intermediate response while an AI result is computed ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_ai_step_answers_the_intermediate_response_then_the_image(upload, settings):
    # The job goes to a queue no worker reads: a real worker started by an earlier test of this
    # process (the session's celery_worker) would otherwise compute it between the requests.
    settings.DAM_AI_QUEUE = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-unread-{os.getpid()}-{time.monotonic_ns()}"
    png = pyvips.Image.new_from_array(scene(160, 120)).write_to_buffer(".png")
    assert upload(png, name="scene.png", public_id="ik_scene").status_code == 200
    counter = Counting(BodyGuard(WSGIHandler()))
    memo = DeliveryMemo(counter)
    path = f"{IK}/tr:e-bgremove/ik_scene.png"

    status, headers, content = call(memo, path)
    assert status == 200
    assert headers["is-intermediate-response"] == "true"
    assert headers["content-type"].startswith("text/html")
    assert headers["cache-control"] == "no-store"
    assert int(headers["retry-after"]) > 0
    assert b"The asset is currently being prepared" in content
    calls = counter.calls
    assert call(memo, path).headers["is-intermediate-response"] == "true"
    assert counter.calls == calls + 1  # never remembered
    head = call(memo, path, method="HEAD")
    assert head.status == 200 and head.headers["is-intermediate-response"] == "true" and head.body == b""
    assert not DerivedImage.objects.exists()
    row = AIResult.objects.get()  # one run queued, whatever the number of requests
    assert row.status == AIResult.PENDING

    jobs.compute(row.pk, force=True)  # what the worker does (transforms.ai.queue)
    status, headers, content = call(memo, path)
    assert status == 200, content[:300]
    assert "is-intermediate-response" not in headers
    assert headers["content-type"] == "image/png"
    cut = pyvips.Image.new_from_buffer(content, "").numpy()
    assert cut.shape == (120, 160, 4)
    assert centre(cut)[..., 3].min() > 230 and all(c[..., 3].max() < 13 for c in corners(cut))
    cloudinary = call(memo, f"/{CLOUD}/image/upload/e_background_removal/ik_scene.png")
    assert cloudinary.status == 200 and cloudinary.headers["etag"] == headers["etag"]  # one cut-out, one row
    assert DerivedImage.objects.count() == 1
