"""ImageKit's ``ik-genimg-prompt-<text>`` path (transforms.imagekit.genimg) on the Image Generation
back-ends, against the real OpenAI-protocol images server the tests start on 127.0.0.1 (port 0,
tests/images_server.py).

The worker's task runs by calling it in this process (``run_generation``, as the Image Generation
API's tests do) after the request queued it on commit: first request intermediate, then the image
at that path with the URL's transformations; another prompt on the same path serves the same
image; one generation per path however many requests ask (the lease held by a request in another
process included); the unsigned quota (429, 0 = signed only 401) and the signed key's; no back-end;
a failing back-end with its back-off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from urllib.parse import quote

import numpy as np
import pytest
import pyvips
from django.db import connection
from django.test import Client
from django.utils import timezone

from assets import throttle
from assets.generation import quota
from assets.generation import tasks as gen_tasks
from assets.models import Asset, GenerationTask
from tests.conftest import CLOUD, make_image
from tests.images_server import configure, picture, running
from transforms.cloudinary import named
from transforms.imagekit import genimg

pytestmark = pytest.mark.django_db

IK = f"/ik/{CLOUD}"
BURGER = f"{IK}/ik-genimg-prompt-A%20man%20eating%20a%20burger/gen/burger.jpg"


@pytest.fixture
def images_server(settings):
    with running() as state:
        configure(settings, state.url)
        settings.DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY = 20
        yield state


@pytest.fixture
def queued(monkeypatch):
    """The task ids the requests queued for the worker (on their commit)."""
    ids: list[str] = []
    monkeypatch.setattr(gen_tasks.run_generation, "apply_async", lambda args, queue=None: ids.append(args[0]))
    return ids


@pytest.fixture
def get(client, django_capture_on_commit_callbacks):
    def fetch(url: str, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return client.get(url, **headers)
    return fetch


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def image_of(response) -> pyvips.Image:
    assert response.status_code == 200, body(response)[:300]
    assert response["Content-Type"].startswith("image/"), response["Content-Type"]
    return pyvips.Image.new_from_buffer(body(response), "")


def assert_intermediate(response):
    assert response.status_code == 200, response.content[:300]
    assert response["is-intermediate-response"] == "true"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) > 0
    assert b"The asset is currently being prepared" in response.content


def message_of(response) -> str:
    message = json.loads(response.content)["error"]["message"]
    assert response["X-Cld-Error"] == message
    return message


def signed(secret: str, relative: str) -> str:
    """`relative` (after the endpoint) signed as the ImageKit SDKs sign it (no expiry)."""
    signature = hmac.new(secret.encode(), (relative + "9999999999").encode(), hashlib.sha1).hexdigest()
    return f"{IK}/{relative}{'&' if '?' in relative else '?'}ik-s={signature}"


# --- generated once, then served at that path ------------------------------------------------------


def test_first_request_is_intermediate_then_the_image_with_its_transformations(images_server, queued, get):
    assert_intermediate(get(BURGER + "?tr=w-100"))
    assert images_server.requests == []  # generated in the worker, not in the request
    (task,) = GenerationTask.objects.all()
    assert queued == [task.task_id]
    assert (task.status, task.asynchronous, task.api_key) == ("pending", True, genimg.UNSIGNED_KEY)
    assert task.request["prompt"] == "A man eating a burger"  # decoded once
    assert (task.request["public_id"], task.request["target_type"], task.request["format"]) == \
        ("gen/burger", "managed_asset", "jpeg")
    assert not Asset.objects.filter(public_id="gen/burger").exists()

    assert gen_tasks.run_generation(task.task_id) == "completed"
    (sent,) = images_server.requests
    assert sent["body"]["prompt"] == "A man eating a burger"
    assert sent["body"]["size"] == "1024x1024"  # the API's default: 1:1 at 1K
    asset = Asset.objects.get(public_id="gen/burger")
    assert (asset.width, asset.height, asset.format) == (1024, 1024, "jpg")

    scaled = image_of(get(BURGER + "?tr=w-100"))
    assert (scaled.width, scaled.height) == (100, 100)
    whole = image_of(get(BURGER)).numpy().astype(float)
    expected = pyvips.Image.new_from_buffer(picture(1024, 1024, 0), "").numpy().astype(float)
    another = pyvips.Image.new_from_buffer(picture(1024, 1024, 1), "").numpy().astype(float)
    assert whole.shape == expected.shape
    # the back-end's image (JPEG-encoded: its noise blurred a little), not another nor a stand-in
    assert np.abs(whole - expected).mean() < 8 < 20 < np.abs(whole - another).mean()
    # the other URL forms of the same path: tr: before or after the segment, and no segment
    assert image_of(get(f"{IK}/tr:w-50/ik-genimg-prompt-burger/gen/burger.jpg")).width == 50
    assert image_of(get(f"{IK}/ik-genimg-prompt-burger/tr:w-60,h-30/gen/burger.jpg")).height == 30
    assert image_of(get(f"{IK}/gen/burger.png?tr=w-70")).width == 70
    stored = get(f"{IK}/tr:orig-true/ik-genimg-prompt-burger/gen/burger.jpg")
    assert image_of(stored).width == 1024 and stored["Content-Type"] == "image/jpeg"
    assert len(images_server.requests) == 1 and GenerationTask.objects.count() == 1


def test_another_prompt_on_the_same_path_serves_the_same_image(images_server, queued, get):
    get(BURGER)
    gen_tasks.run_generation(queued[0])
    first = image_of(get(BURGER)).numpy()
    other = image_of(get(f"{IK}/ik-genimg-prompt-a%20red%20bicycle/gen/burger.jpg")).numpy()
    assert np.array_equal(first, other)
    assert len(images_server.requests) == 1 and GenerationTask.objects.count() == 1


def test_an_existing_asset_is_served_whatever_the_segment_says(images_server, queued, get, upload):
    assert upload(make_image(80, 60, "png"), name="shoe.png", public_id="shop/shoe").status_code == 200
    for segment in ("ik-genimg", "ik-genimg-prompt-a%20boot"):
        got = image_of(get(f"{IK}/{segment}/shop/shoe.png?tr=w-40"))
        assert (got.width, got.height) == (40, 30)
    assert queued == [] and images_server.requests == [] and not GenerationTask.objects.exists()


def test_format_from_the_extension_and_a_base64_prompt(images_server, queued, get):
    prompt = "A lamp at dusk, 50% off?>"
    b64 = base64.b64encode(prompt.encode()).decode()
    assert "/" in b64  # escaped as %2F, which the decoded path shows as a separator
    assert_intermediate(get(f"{IK}/ik-genimg-prompte-{quote(b64, safe='')}/lamps/dusk.webp"))
    assert_intermediate(get(f"{IK}/ik-genimg-prompt-a%20vase/vases/blue.avif"))
    by_id = {t.request["public_id"]: t.request for t in GenerationTask.objects.all()}
    assert by_id["lamps/dusk"]["prompt"] == prompt and by_id["lamps/dusk"]["format"] == "webp"
    assert by_id["vases/blue"]["format"] == "png"  # made as PNG, delivered converted
    gen_tasks.run_generation(GenerationTask.objects.get(request__public_id="vases/blue").task_id)
    response = get(f"{IK}/ik-genimg-prompt-a%20vase/vases/blue.avif?tr=w-64")
    assert response["Content-Type"] == "image/avif"
    assert image_of(response).width == 64


# --- one generation per path -------------------------------------------------------------------


def test_requests_while_pending_start_no_other_generation(images_server, queued, get, client):
    for prompt in ("A%20man%20eating%20a%20burger", "a%20cat", "a%20dog"):
        assert_intermediate(get(f"{IK}/ik-genimg-prompt-{prompt}/gen/burger.jpg"))
    assert_intermediate(get(f"{IK}/tr:orig-true/ik-genimg-prompt-a%20cat/gen/burger.jpg"))
    head = client.head(BURGER)
    assert head.status_code == 200 and head["is-intermediate-response"] == "true" and head.content == b""
    assert len(queued) == 1 and GenerationTask.objects.count() == 1
    task = GenerationTask.objects.get()
    task.status = "processing"
    task.save()
    assert_intermediate(get(BURGER))
    assert GenerationTask.objects.count() == 1
    task.status = "pending"
    task.save()
    assert gen_tasks.run_generation(task.task_id) == "completed"
    assert len(images_server.requests) == 1


def test_a_request_racing_another_that_holds_the_lease_starts_nothing(images_server, queued, get):
    """The moment between one request's look (no task yet) and its task's commit: another
    process holds the path's lease, so this request answers intermediate and creates nothing."""
    name = "genpath:" + hashlib.sha256(b"gen/burger").hexdigest()[:40]
    assert throttle.lease(name, 60)
    assert_intermediate(get(BURGER))
    assert queued == [] and not GenerationTask.objects.exists()
    throttle.release(name)
    assert_intermediate(get(BURGER))
    assert len(queued) == 1 and GenerationTask.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_requests_at_the_same_moment_start_one_generation(images_server, queued):
    """Racing requests, each in its own thread and database connection: one task, one back-end call."""
    racers = 6
    barrier = threading.Barrier(racers)
    answers, errors = [], []

    def race(index: int):
        try:
            barrier.wait(10)
            answers.append(Client().get(f"{IK}/ik-genimg-prompt-racer%20{index}/gen/race.png"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(answers) == racers
    for response in answers:
        assert_intermediate(response)
    (task,) = GenerationTask.objects.all()
    assert queued == [task.task_id]
    assert gen_tasks.run_generation(task.task_id) == "completed"
    assert len(images_server.requests) == 1
    assert image_of(Client().get(f"{IK}/ik-genimg-prompt-x/gen/race.png?tr=w-32")).width == 32


def test_the_lease_goes_to_one_caller_until_it_runs_out():
    assert throttle.lease("x", 60, now=1000)
    assert not throttle.lease("x", 60, now=1001)
    assert not throttle.lease("x", 60, now=1059)
    assert throttle.lease("x", 60, now=1060)  # ran out: the next caller takes it
    assert not throttle.lease("x", 60, now=1061)
    throttle.release("x")
    assert throttle.lease("x", 60, now=1062)


def test_a_task_whose_worker_was_lost_is_queued_again_once(images_server, queued, get, settings):
    get(BURGER)
    task = GenerationTask.objects.get()
    old = timezone.now() - timedelta(seconds=2 * settings.DAM_IMAGE_GENERATION_TIMEOUT + 120)
    GenerationTask.objects.filter(id=task.id).update(status="processing", updated_at=old)
    assert_intermediate(get(BURGER))
    assert_intermediate(get(BURGER))
    assert queued == [task.task_id, task.task_id]  # queued again once (the lease holds the next ones off)
    assert GenerationTask.objects.count() == 1
    assert gen_tasks.run_generation(task.task_id) == "completed"  # the worker's claim takes a lost task
    assert image_of(get(BURGER)).width == 1024


# --- bounds ------------------------------------------------------------------------------------


def test_unsigned_generations_are_bounded_by_the_deployment_quota(images_server, queued, get, settings):
    settings.DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY = 2
    for name in ("a", "b"):
        assert_intermediate(get(f"{IK}/ik-genimg-prompt-thing/q/{name}.png"))
    refused = get(f"{IK}/ik-genimg-prompt-thing/q/c.png")
    assert refused.status_code == 429
    assert "DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY" in message_of(refused)
    assert int(refused["Retry-After"]) > 0
    assert GenerationTask.objects.count() == 2
    assert quota.current(genimg.UNSIGNED_KEY).used == 2
    assert_intermediate(get(f"{IK}/ik-genimg-prompt-thing/q/a.png"))  # a pending path still answers


def test_unsigned_pending_generations_are_capped(images_server, queued, get, settings):
    settings.DAM_IMAGE_GENERATION_MAX_PENDING_PER_KEY = 1
    assert_intermediate(get(f"{IK}/ik-genimg-prompt-thing/p/a.png"))
    refused = get(f"{IK}/ik-genimg-prompt-thing/p/b.png")
    assert refused.status_code == 429
    assert "DAM_IMAGE_GENERATION_MAX_PENDING_PER_KEY" in message_of(refused)
    gen_tasks.run_generation(queued[0])
    assert_intermediate(get(f"{IK}/ik-genimg-prompt-thing/p/b.png"))
    assert quota.current(genimg.UNSIGNED_KEY).used == 2


def test_zero_means_signed_urls_only_and_signed_ones_count_for_their_key(images_server, queued, get, settings,
                                                                         api_key):
    settings.DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY = 0
    refused = get(f"{IK}/ik-genimg-prompt-a%20fox/s/fox.jpg")
    assert refused.status_code == 401
    assert "DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY" in message_of(refused)
    assert not GenerationTask.objects.exists()
    url = signed(api_key.secret, "ik-genimg-prompt-a%20fox/s/fox.jpg?tr=w-120")
    assert_intermediate(get(url))
    task = GenerationTask.objects.get()
    assert task.api_key == api_key.key
    assert quota.current(api_key.key).used == 1 and quota.current(genimg.UNSIGNED_KEY).used == 0
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert get(tampered).status_code == 401
    gen_tasks.run_generation(task.task_id)
    assert image_of(get(url)).width == 120
    settings.DAM_IMAGE_GENERATION_MONTHLY_QUOTA = 1  # the signing key's general quota
    over = get(signed(api_key.secret, "ik-genimg-prompt-a%20fox/s/fox2.jpg"))
    assert over.status_code == 429 and "quota" in message_of(over)


def test_without_a_back_end_the_answer_names_the_setting(get, queued, settings):
    settings.DAM_IMAGE_GENERATION_URL = ""
    settings.DAM_IMAGE_GENERATION_BACKENDS = ""
    settings.DAM_IMAGEKIT_GENIMG_UNSIGNED_MONTHLY = 20
    response = get(BURGER)
    assert response.status_code == 400
    assert "DAM_IMAGE_GENERATION_URL" in message_of(response)
    assert not GenerationTask.objects.exists() and queued == []
    assert quota.current(genimg.UNSIGNED_KEY).used == 0


@pytest.mark.parametrize(("url", "status", "words"), [
    (f"{IK}/ik-genimg-sketch/gen/a.jpg", 400, "ik-genimg-prompt-<text>"),
    (f"{IK}/ik-genimg/gen/a.jpg", 400, "needs a prompt"),
    (f"{IK}/ik-genimg-prompt-{'x' * 1001}/gen/a.jpg", 400, "at most 1000"),
    (f"{IK}/ik-genimg-prompt-%20%20/gen/a.jpg", 400, "Empty"),
    (f"{IK}/ik-genimg-prompt-a%01b/gen/a.jpg", 400, "control characters"),
    (f"{IK}/ik-genimg-prompte-!!!/gen/a.jpg", 400, "'!!!' (base64"),
    (f"{IK}/ik-genimg-prompt-cat/gen/a.jpg?tr=w-nope", 400, "Invalid ImageKit value for w"),
    (f"{IK}/ik-genimg-prompt-cat", 400, "needs the file path"),
    (f"{IK}/tr:w-10/ik-genimg-prompt-cat", 400, "needs the file path"),
    (f"{IK}/ik-genimg-prompt-cat/gen//a.jpg", 400, "empty path segment"),
])
def test_bad_segments_and_steps_are_400s_that_start_nothing(images_server, queued, get, url, status, words):
    response = get(url)
    assert response.status_code == status, response.content
    assert words in message_of(response)
    assert not GenerationTask.objects.exists() and queued == []


# --- a failing back-end ------------------------------------------------------------------------


def test_a_failed_generation_answers_its_error_then_retries_after_a_back_off(images_server, queued, get):
    images_server.default = "fail"
    assert_intermediate(get(BURGER))
    assert gen_tasks.run_generation(queued[0]) == "failed"
    assert len(images_server.requests) == 3  # the back-end's own retries, inside the one task
    failed = get(BURGER)
    assert failed.status_code == 502
    assert "DAM_IMAGE_GENERATION_URL" in message_of(failed) and "HTTP 500" in message_of(failed)
    assert 0 < int(failed["Retry-After"]) <= 30
    assert get(f"{IK}/ik-genimg-prompt-other/gen/burger.jpg").status_code == 502  # no new attempt yet
    assert GenerationTask.objects.count() == 1 and len(queued) == 1
    assert quota.current(genimg.UNSIGNED_KEY).used == 0  # a failure costs no quota

    # the back-off over: one new attempt, which succeeds
    GenerationTask.objects.update(finished_at=timezone.now() - timedelta(seconds=31))
    images_server.default = "ok"
    assert_intermediate(get(BURGER))
    assert_intermediate(get(BURGER))
    assert GenerationTask.objects.count() == 2 and len(queued) == 2
    assert gen_tasks.run_generation(queued[1]) == "completed"
    assert image_of(get(BURGER + "?tr=w-100")).width == 100


def test_the_back_off_doubles_with_each_failure(images_server, queued, get):
    images_server.default = "fail"
    waits = []
    for attempt in range(3):
        assert_intermediate(get(BURGER))
        gen_tasks.run_generation(queued[-1])
        failed = get(BURGER)
        assert failed.status_code == 502
        waits.append(int(failed["Retry-After"]))
        GenerationTask.objects.update(finished_at=timezone.now() - timedelta(hours=2))
    assert waits == [30, 60, 120]
    assert len(queued) == 3


def test_strict_mode_refuses_before_anything_is_generated(images_server, queued, get):
    named.set_strict(True)
    refused = get(f"{IK}/ik-genimg-prompt-cat/gen/strict.jpg?tr=w-33")
    assert refused.status_code == 401 and "not allowed" in message_of(refused)
    assert not GenerationTask.objects.exists() and queued == []
    assert_intermediate(get(f"{IK}/ik-genimg-prompt-cat/gen/strict.jpg"))  # no transformation: allowed
