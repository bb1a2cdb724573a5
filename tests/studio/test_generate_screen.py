"""The Generate screen (studio.views_generate, templates/studio/generate.html).

Without a browser: who may open it (editors and admins; viewers get the 403 page and no nav
link), the message naming DAM_IMAGE_GENERATION_URL when no back-end is configured, the plain
POST + redirect path (a task owned by ``user:<id>``, counted in that user's quota, then run by
the worker's own function and shown with its image and seed), form errors, and the code
snippets: run for real (bash with a shell function standing in for curl; node with a stand-in
fetch; Python parsed) with a prompt full of quotes, newlines, ``$``, backticks and ``</script>``,
and then cURL, Python and Node against a live server and a real back-end.

In Chromium (Playwright) against a live server, a real OpenAI-protocol back-end
(tests/images_server.py) and a real Celery worker on a queue of its own pointed at it: generate a
temporary image and see the progress (the back-end holds the answer until the page shows
"Generating…"), then the image (its natural size) and its seed; save one to the Library with a
public_id and folder and find it there; a back-end failure shows its error.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import subprocess
import sys
from html import unescape

import pytest
from django.conf import settings as django_settings
from django.test import Client

from assets.generation import tasks as gen_tasks
from assets.models import ApiKey, Asset, GenerationTask
from studio import views_generate
from tests.browser import browser, page, screenshot  # noqa: F401
from tests.images_server import configure, running
from tests.studio_fixtures import log_in, make_user

NASTY = 'He said "hi" & \'bye\'\n$HOME `touch pwned` $(touch pwned2) \\n ${x} </script><b> \u2028 é'


@pytest.fixture
def editor(settings, db):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_user("eddie", "editor")


@pytest.fixture
def images_server(settings):
    with running() as state:
        configure(settings, state.url)
        yield state


def form(**overrides) -> dict:
    values = {"prompt": "A red bicycle", "model": "flux-2-pro", "size_mode": "ratio", "aspect_ratio": "16:9",
              "resolution": "0.5K", "width": "", "height": "", "seed": "", "format": "png",
              "target": "temporary", "public_id": "", "folder": ""}
    values.update(overrides)
    return values


# --- without a browser ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_who_may_open_it(client, settings, editor):
    settings.DAM_IMAGE_GENERATION_URL = "http://127.0.0.1:9/v1"
    assert client.get("/generate/").status_code == 302  # anonymous: the login page
    viewer = make_user("vera", "viewer")
    client.force_login(viewer)
    assert client.get("/generate/").status_code == 403
    assert client.post("/generate/", form()).status_code == 403
    assert 'href="/generate/"' not in client.get("/library/").content.decode()
    assert not GenerationTask.objects.exists()
    client.force_login(editor)
    page_html = client.get("/generate/").content.decode()
    assert 'id="generate-form"' in page_html
    assert 'href="/generate/"' in client.get("/library/").content.decode()  # the nav item


@pytest.mark.django_db
def test_no_back_end_names_the_setting_instead_of_a_form(client, settings, editor):
    settings.DAM_IMAGE_GENERATION_URL = settings.DAM_IMAGE_GENERATION_BACKENDS = ""
    client.force_login(editor)
    html = client.get("/generate/").content.decode()
    assert 'id="generate-no-backend"' in html and "DAM_IMAGE_GENERATION_URL" in html
    assert 'id="generate-form"' not in html
    # one family mapped: the form, the others marked and disabled
    settings.DAM_IMAGE_GENERATION_BACKENDS = json.dumps({"flux": {"url": "http://127.0.0.1:9/v1"}})
    html = client.get("/generate/").content.decode()
    assert 'id="generate-form"' in html and "2 of 10 models have a configured back-end" in html
    assert re.search(r'<option value="flux-2-pro"[^>]*>', html).group(0).count("disabled") == 0
    assert "disabled" in re.search(r'<option value="recraft-v3"[^>]*>', html).group(0)


@pytest.mark.django_db
def test_plain_post_redirects_to_the_task_owned_by_the_user(client, images_server, editor, settings,
                                                            django_capture_on_commit_callbacks, monkeypatch):
    settings.DAM_IMAGE_GENERATION_MONTHLY_QUOTA = 5
    queued = []
    monkeypatch.setattr(gen_tasks.run_generation, "apply_async", lambda args, queue=None: queued.append(args))
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/generate/", form(prompt="A lighthouse", seed=""))
    task = GenerationTask.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/generate/{task.task_id}/"
    assert (task.api_key, task.asynchronous, task.status) == (f"user:{editor.pk}", True, "pending")
    assert queued == [(task.task_id,)]
    seed = task.request["seed"]
    assert isinstance(seed, int)  # "random": the screen chose one, so the result's is known
    pending = client.get(response["Location"]).content.decode()
    assert 'data-status="pending"' in pending and "Queued" in pending
    assert "Your generations this month: 1 of 5" in pending  # the user's own quota
    with django_capture_on_commit_callbacks(execute=True):
        assert gen_tasks.run_generation(task.task_id) == "completed"  # the worker's function
    (sent,) = images_server.requests
    assert sent["body"]["size"] == "512x288" and sent["body"]["seed"] == seed
    done = client.get(response["Location"]).content.decode()
    assert 'id="generate-image"' in done and f'<dd id="generate-seed-value">{seed}</dd>' in done
    src = re.search(r'id="generate-image" src="([^"]+)"', done).group(1).replace("&amp;", "&")
    image = Client().get(src)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    # another editor sees neither the task nor its page; an admin sees everyone's
    other = Client()
    other.force_login(make_user("otto", "editor"))
    assert other.get(response["Location"]).status_code == 404
    assert task.task_id not in other.get("/generate/").content.decode()
    admin = Client()
    admin.force_login(make_user("root", "superuser"))
    assert admin.get(response["Location"]).status_code == 200
    listed = admin.get("/generate/").content.decode()
    assert task.task_id in listed and '<td data-label="By">eddie</td>' in listed


@pytest.mark.django_db
def test_form_errors_are_shown_and_store_nothing(client, images_server, editor):
    client.force_login(editor)
    bad = client.post("/generate/", form(size_mode="exact", width="20", height="64"))
    assert bad.status_code == 400
    assert "image_size.width must be an integer from 64 to 4096" in bad.content.decode()
    htmx = client.post("/generate/", form(prompt="  "), HTTP_HX_REQUEST="true")
    assert htmx.status_code == 422 and "prompt must be a non-empty string" in htmx.content.decode()
    folder_only = client.post("/generate/", form(target="managed_asset", folder="a/b"))
    assert folder_only.status_code == 400 and "A folder needs a public ID" in folder_only.content.decode()
    assert not GenerationTask.objects.exists() and not images_server.requests


@pytest.mark.django_db
def test_the_quota_is_the_users_own(client, images_server, editor, settings):
    settings.DAM_IMAGE_GENERATION_MONTHLY_QUOTA = 1
    client.force_login(editor)
    assert client.post("/generate/", form()).status_code == 302
    refused = client.post("/generate/", form())
    assert refused.status_code == 429
    assert "quota exceeded: 1 generations per month" in refused.content.decode()
    other = Client()
    other.force_login(make_user("otto", "editor"))
    assert other.post("/generate/", form()).status_code == 302  # another user has a quota of their own
    assert GenerationTask.objects.filter(api_key=f"user:{editor.pk}").count() == 1


def snippet_body(**overrides) -> dict:
    return views_generate.body_from_form(form(prompt=NASTY, seed="42", target="managed_asset",
                                              public_id="it's $me", folder="a/b", **overrides))


def test_snippets_quote_everything_for_their_language(tmp_path):
    url = "http://127.0.0.1:1/v2/generate/demo/text_to_image?x='$(id)'"
    body = snippet_body()
    assert body["prompt"] == NASTY.strip() and body["target"]["public_id"] == "a/b/it's $me"
    code = views_generate.snippets(url, body)
    env = {**os.environ, "CLOUDINARY_API_KEY": "k$1", "CLOUDINARY_API_SECRET": "s`2`", "HOME": str(tmp_path)}
    # shell: bash runs the command with curl a function printing its arguments
    shell = subprocess.run(["bash", "-c", 'curl() { printf "%s\\0" "$@"; }\n' + code["curl"]], env=env,
                           capture_output=True, check=True, cwd=tmp_path)
    args = shell.stdout.decode().split("\0")[:-1]
    assert args == ["-u", "k$1:s`2`", "-H", "Content-Type: application/json", "-d", code["json"], url]
    assert json.loads(args[5]) == body
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()  # nothing in it ran
    # Python: the json= argument is a literal equal to the body, the URL a literal
    call = next(n for n in ast.walk(ast.parse(code["python"])) if isinstance(n, ast.Call)
                and getattr(n.func, "attr", "") == "post")
    assert ast.literal_eval(call.args[0]) == url
    assert ast.literal_eval(next(k.value for k in call.keywords if k.arg == "json")) == body
    # Node: run it with fetch standing in, which prints what it was given
    stand_in = ("globalThis.fetch = (url, options) => { console.log(JSON.stringify({url, options})); "
                "return new Promise(() => {}); };\n")
    node = subprocess.run(["node", "-e", stand_in + code["node"]], env=env, capture_output=True, check=True)
    seen = json.loads(node.stdout)
    assert seen["url"] == url and json.loads(seen["options"]["body"]) == body
    assert seen["options"]["headers"]["Authorization"] == "Basic " + base64.b64encode(b"k$1:s`2`").decode()


@pytest.mark.django_db
def test_the_page_escapes_the_snippets(client, editor, settings):
    settings.DAM_IMAGE_GENERATION_URL = "http://127.0.0.1:9/v1"
    client.force_login(editor)
    html = client.get("/generate/-/code/", form(prompt=NASTY)).content.decode()
    assert "</script><b>" not in html and "&lt;/script&gt;&lt;b&gt;" in html
    shown = re.search(r'<textarea id="code-json"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert json.loads(unescape(shown))["prompt"] == NASTY.strip()


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_the_snippets_generate_against_a_live_server(live_server, images_server, tmp_path):
    """The three snippets, run for real (curl, python with requests, node with fetch), each make
    the image with exactly the prompt of the form."""
    key = ApiKey.objects.create(name="snippets", role="editor")
    body = views_generate.body_from_form(form(prompt=NASTY, seed="9", size_mode="exact", width="96",
                                              height="64"))
    code = views_generate.snippets(f"{live_server.url}/v2/generate/demo/text_to_image", body)
    env = {**os.environ, "CLOUDINARY_API_KEY": key.key, "CLOUDINARY_API_SECRET": key.secret,
           "HOME": str(tmp_path)}
    runs = {"curl": ["bash", "-c", code["curl"]], "python": [sys.executable, "-c", code["python"]],
            "node": ["node", "-e", code["node"]]}
    for name, argv in runs.items():
        out = subprocess.run(argv, env=env, capture_output=True, timeout=120, cwd=tmp_path)
        assert out.returncode == 0, (name, out.stderr.decode()[-2000:])
        text = out.stdout.decode()
        assert "temporary" in text and re.search(r"""seed['"]?: 9\b""", text), (name, text)
    assert [r["body"]["prompt"] for r in images_server.requests] == [NASTY.strip()] * 3
    assert all(r["body"]["size"] == "96x64" and r["body"]["seed"] == 9 for r in images_server.requests)
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


# --- in Chromium, with a real worker -------------------------------------------------------------


@pytest.fixture(scope="module")
def backend_and_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A back-end and a Celery worker (on a queue of its own) generating with it, for the module."""
    from tests.worker import start_worker, stop_worker

    queue = f"{django_settings.CELERY_TASK_DEFAULT_QUEUE}-genscreen"
    with running() as state:
        log_path = tmp_path_factory.mktemp("genworker") / "worker.log"
        worker = start_worker(log_path, {"DAM_IMAGE_GENERATION_URL": state.url,
                                         "DAM_IMAGE_GENERATION_KEY": "sk-test-key"}, queue=queue)
        worker.log_path = log_path
        try:
            yield state, queue, worker
        finally:
            stop_worker(worker)


@pytest.fixture
def live_backend(backend_and_worker, settings, shared_media):
    state, queue, worker = backend_and_worker
    state.requests.clear()
    state.script.clear()
    state.release.clear()
    state.default = "ok"
    configure(settings, state.url)
    settings.DAM_IMAGE_GENERATION_QUEUE = queue
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_user("eddie", "editor")
    return state, worker


def _worker_log(worker) -> str:
    return worker.log_path.read_text(errors="replace")[-3000:]


IMAGE_READY = ("() => { const i = document.querySelector('#generate-image'); "
               "return i && i.complete && i.naturalWidth > 0; }")


@pytest.mark.live
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_generate_shows_progress_then_the_image_and_its_seed(page, live_backend):  # noqa: F811
    state, worker = live_backend
    state.script = ["slow"]
    state.slow_seconds = 60.0  # held until the page has shown the task running
    log_in(page, "/generate/")
    page.get_by_label("Prompt").fill("A lighthouse on a cliff at dawn")
    page.get_by_label("Model").select_option("gpt-image-2")
    page.get_by_label("Aspect ratio", exact=True).select_option("16:9")
    page.get_by_label("Resolution (longest side)").select_option("0.5K")
    page.get_by_label("Format").select_option("webp")
    page.get_by_role("button", name="Generate").click()
    try:
        page.locator("#generate-state", has_text="Generating…").wait_for(timeout=60_000)
    except Exception:
        raise AssertionError(_worker_log(worker)) from None
    assert page.locator("#generate-task").get_attribute("data-status") == "processing"
    assert "A lighthouse" in page.locator("#generate-tasks tbody tr").first.inner_text()  # listed at once
    assert re.search(r"/generate/[0-9a-f]+/$", page.url)  # the task's own address, pushed without a reload
    screenshot(page, "generate-progress")
    state.release.set()
    page.wait_for_function(IMAGE_READY, timeout=60_000)
    size = page.evaluate("() => { const i = document.querySelector('#generate-image'); "
                         "return [i.naturalWidth, i.naturalHeight]; }")
    assert size == [512, 288]
    (sent,) = state.requests
    assert sent["body"]["model"] == "gpt-image-2" and sent["body"]["size"] == "512x288"
    assert page.locator("#generate-seed-value").inner_text() == str(sent["body"]["seed"])
    assert page.locator("#generate-task").get_attribute("data-status") == "completed"
    row = page.locator("#generate-tasks tbody tr").first
    assert "completed" in row.inner_text() and "A lighthouse" in row.inner_text()
    assert "Your generations this month: 1 of 500" in page.locator("#generate-quota").inner_text()
    # the snippets show the request as it was sent, its seed included
    page.get_by_role("tab", name="JSON").click()
    assert json.loads(page.locator("#code-json").input_value())["seed"] == sent["body"]["seed"]
    screenshot(page, "generate-done")


@pytest.mark.live
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_save_to_the_library_with_public_id_and_folder(page, live_backend):  # noqa: F811
    state, worker = live_backend
    log_in(page, "/generate/")
    page.get_by_label("Prompt").fill("A blue teapot")
    page.get_by_label("Width and height").check()
    page.get_by_label("Width (px)").fill("96")
    page.get_by_label("Height (px)").fill("64")
    page.get_by_label("Seed").fill("7")
    page.get_by_label("Save to the Library").check()
    page.get_by_label("Public ID").fill("teapot")
    page.get_by_label("Folder").fill("gen/tests")
    page.get_by_role("button", name="Generate").click()
    try:
        page.wait_for_function(IMAGE_READY, timeout=60_000)
    except Exception:
        raise AssertionError(_worker_log(worker)) from None
    assert page.locator("#generate-seed-value").inner_text() == "7"
    assert page.evaluate("() => document.querySelector('#generate-image').naturalWidth") == 96
    asset = Asset.objects.get(public_id="gen/tests/teapot")
    assert (asset.width, asset.height, asset.folder) == (96, 64, "gen/tests")
    assert state.requests[0]["body"]["seed"] == 7
    screenshot(page, "generate-library")
    page.goto("/library/gen/tests/")
    tile = page.locator(f'.tile[data-asset-id="{asset.asset_id}"]')
    assert tile.locator("a.name").inner_text() == "gen/tests/teapot"
    page.wait_for_function("id => { const i = document.querySelector(`.tile[data-asset-id='${id}'] img`); "
                           "return i && i.complete && i.naturalWidth > 0; }", arg=asset.asset_id)
    tile.locator("a.name").click()
    page.wait_for_url(f"**/assets/{asset.asset_id}/")


@pytest.mark.live
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_back_end_failure_shows_its_error(page, live_backend):  # noqa: F811
    state, worker = live_backend
    state.default = "fail"
    log_in(page, "/generate/")
    page.get_by_label("Prompt").fill("Anything at all")
    page.get_by_role("button", name="Generate").click()
    try:
        page.locator("#generate-error").wait_for(timeout=60_000)
    except Exception:
        raise AssertionError(_worker_log(worker)) from None
    text = page.locator("#generate-error").inner_text()
    assert "HTTP 500" in text and "the GPU caught fire" in text and "DAM_IMAGE_GENERATION_URL" in text
    assert page.locator("#generate-task").get_attribute("data-status") == "failed"
    assert "failed" in page.locator("#generate-tasks tbody tr").first.inner_text()
    assert not page.locator("#generate-image").count()
    screenshot(page, "generate-failed")


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_no_back_end_in_the_browser(page, settings):  # noqa: F811
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DAM_IMAGE_GENERATION_URL = settings.DAM_IMAGE_GENERATION_BACKENDS = ""
    make_user("eddie", "editor")
    log_in(page, "/generate/")
    message = page.locator("#generate-no-backend")
    assert "DAM_IMAGE_GENERATION_URL" in message.inner_text()
    assert not page.locator("#generate-form").count()
