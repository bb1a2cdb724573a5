"""transforms.memo: repeated delivery requests answered from a per-process memo after one
query, exactly as the full path answers them, and never once what they were built from
has changed.  Requests go through the production WSGI stack (DeliveryMemo around
BodyGuard around Django's WSGIHandler), in-process."""

from __future__ import annotations

import hashlib
import io
import sys
import threading
import time

import pytest
import pyvips
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assets.bodyguard import BodyGuard
from assets.models import Asset
from tests.conftest import CLOUD, make_image
from tests.wsgi import Answer, Counting, call
from transforms import derived
from transforms.cloudinary import named
from transforms.memo import DeliveryMemo
from transforms.models import DerivedImage
from transforms.models_named import Transformation

# In-process WSGI calls send request_started/finished as a server does: committed data only.
pytestmark = pytest.mark.django_db(transaction=True)

BASE = f"/{CLOUD}/image/upload"


@pytest.fixture
def stack():
    """(memo, counter): the production composition, with a count of what reaches Django."""
    counter = Counting(BodyGuard(WSGIHandler()))
    return DeliveryMemo(counter), counter


@pytest.fixture
def plain():
    """The same stack without the memo: what the full path answers."""
    return BodyGuard(WSGIHandler())


@pytest.fixture
def pic(upload):
    response = upload(make_image(120, 90, "jpg"), name="pic.jpg", public_id="shop/pic")
    assert response.status_code == 200
    return response.json()


def geometry(body: bytes) -> tuple[int, int]:
    image = pyvips.Image.new_from_buffer(body, "")
    return image.width, image.height


def same_content(answer: Answer) -> bool:
    return f'"{hashlib.md5(answer.body).hexdigest()}"' == answer.headers["etag"]


def test_a_repeated_request_is_answered_from_memory_after_one_query(stack, pic):
    memo, django = stack
    url = f"{BASE}/c_fill,w_40,h_30/shop/pic.jpg"
    first = call(memo, url)
    assert first.status == 200 and geometry(first.body) == (40, 30) and django.calls == 1
    with CaptureQueriesContext(connection) as queries:
        second = call(memo, url)
    assert django.calls == 1, "a hit must not reach Django"
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert second.status == 200 and second.without_request_id() == first.without_request_id()
    assert same_content(second) and geometry(second.body) == (40, 30)
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert call(memo, url, x_request_id="trace-7").headers["x-request-id"] == "trace-7"
    assert len(call(memo, url, x_request_id="bad id!").headers["x-request-id"]) == 32
    assert len(call(memo, url, x_request_id="a" * 65).headers["x-request-id"]) == 32  # as RequestIdMiddleware
    assert call(memo, url, x_request_id="a" * 64).headers["x-request-id"] == "a" * 64
    assert django.calls == 1


@pytest.mark.parametrize("path, method, headers", [
    ("/shop/pic.jpg", "GET", {}),  # the original itself
    ("/shop/pic.png", "GET", {}),
    ("/c_fill,w_40,h_30/shop/pic.jpg", "GET", {}),
    ("/c_fill,w_40,h_30/shop/pic.jpg", "HEAD", {}),
    ("/c_scale,w_50/fl_attachment:snap/shop/pic.jpg", "GET", {}),
    ("/c_scale,w_50,f_auto/shop/pic", "GET", {"accept": "image/webp,*/*"}),
    ("/c_scale,w_50,f_auto/shop/pic", "GET", {"accept": "image/avif,image/webp"}),
    ("/c_scale,w_50,f_auto/shop/pic", "GET", {}),
    ("/c_scale,w_50,q_auto/shop/pic.jpg", "GET", {"save_data": "on"}),
    ("/c_scale,w_50,q_auto/shop/pic.jpg", "GET", {}),
    ("/c_scale,w_30/shop/pic.webp", "GET", {"x_forwarded_proto": "https"}),
])
def test_hits_answer_exactly_what_the_full_path_answers(stack, plain, pic, path, method, headers):
    memo, django = stack
    url = BASE + path
    call(memo, url, method, **headers)
    hit = call(memo, url, method, **headers)
    assert django.calls == 1
    full = call(plain, url, method, **headers)
    assert (hit.status, hit.without_request_id()) == (full.status, full.without_request_id())
    assert len(hit.body) == len(full.body)
    if method == "GET":
        assert same_content(hit) and geometry(hit.body) == geometry(full.body)
    else:
        assert hit.body == b"" and int(hit.headers["content-length"]) > 0


def test_each_variant_of_f_auto_is_its_own_answer(stack, pic):
    memo, django = stack
    url = f"{BASE}/c_scale,w_50,f_auto/shop/pic"
    formats = {}
    for accept in ("image/webp", "image/avif,image/webp", "text/html", "image/webp"):
        answer = call(memo, url, accept=accept)
        formats[accept] = pyvips.Image.new_from_buffer(answer.body, "").get("vips-loader")
        assert answer.headers["vary"] == "Accept"
    assert formats == {"image/webp": "webpload_buffer", "image/avif,image/webp": "heifload_buffer",
                       "text/html": "jpegload_buffer"}
    assert django.calls == 3  # the second image/webp request was a hit


def test_conditional_requests(stack, plain, pic):
    memo, django = stack
    url = f"{BASE}/c_fill,w_40,h_30/shop/pic.jpg"
    first = call(memo, url)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    for none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        before = django.calls
        answers = [call(memo, url, if_none_match=none_match) for _ in range(2)]
        full = call(plain, url, if_none_match=none_match)
        for answer in answers:
            assert answer.status == 304 and answer.body == b""
            assert answer.without_request_id() == full.without_request_id()
        assert django.calls <= before + 1  # the first 304 is made by Django, then remembered
    before = django.calls
    mismatch = call(memo, url, if_none_match='"other"', if_modified_since=last_modified)
    assert mismatch.status == 200 and same_content(mismatch) and django.calls == before
    # conditions the memo leaves to Django: answered exactly as without it
    for headers, status in (({"if_modified_since": last_modified}, 304), ({"if_match": '"other"'}, 412),
                            ({"if_unmodified_since": "Mon, 01 Jan 1990 00:00:00 GMT"}, 412)):
        before = django.calls
        assert call(memo, url, **headers).status == status == call(plain, url, **headers).status
        assert django.calls == before + 1


def test_an_overwrite_is_seen_at_once(stack, upload, pic):
    memo, django = stack
    original, fill = f"{BASE}/shop/pic.jpg", f"{BASE}/c_fill,w_40,h_30/shop/pic.jpg"
    old = {url: call(memo, url) for url in (original, fill)}
    assert geometry(call(memo, original).body) == (120, 90)
    assert upload(make_image(60, 80, "jpg", seed=5), public_id="shop/pic", overwrite="true").status_code == 200
    fresh = call(memo, original)
    assert geometry(fresh.body) == (60, 80) and fresh.headers["etag"] != old[original].headers["etag"]
    fresh_fill = call(memo, fill)
    assert geometry(fresh_fill.body) == (40, 30) and fresh_fill.headers["etag"] != old[fill].headers["etag"]
    assert same_content(call(memo, fill))


def test_a_metadata_change_of_the_original_is_seen(stack, plain, pic):
    memo, django = stack
    url = f"{BASE}/shop/pic.jpg"
    call(memo, url)
    call(memo, url)
    assert django.calls == 1
    asset = Asset.objects.get(public_id="shop/pic")
    asset.context = {"caption": "new"}
    asset.save()  # updated_at moves (Last-Modified of the original): the remembered answer no longer holds
    answer = call(memo, url)
    assert django.calls == 2
    assert answer.without_request_id() == call(plain, url).without_request_id()


def test_delete_rename_and_a_new_asset_under_the_old_name(stack, upload, pic):
    memo, _ = stack
    urls = [f"{BASE}/shop/pic.jpg", f"{BASE}/c_fill,w_40,h_30/shop/pic.jpg"]
    for url in urls:
        assert call(memo, url).status == 200 and call(memo, url).status == 200
    assert upload(None, action="rename", from_public_id="shop/pic", to_public_id="shop/moved").status_code == 200
    for url in urls:
        answer = call(memo, url)
        assert answer.status == 404 and "Resource not found" in answer.headers["x-cld-error"]
    assert upload(make_image(30, 20, "jpg", seed=9), public_id="shop/pic").status_code == 200
    assert geometry(call(memo, urls[0]).body) == (30, 20)
    assert upload(None, action="destroy", public_id="shop/pic").json() == {"result": "ok"}
    for url in urls:
        assert call(memo, url).status == 404


def test_removed_derived_images_and_named_updates_are_seen(stack, pic):
    memo, _ = stack
    url = f"{BASE}/c_scale,w_50/shop/pic.jpg"
    first = call(memo, url)
    derived.forget(DerivedImage.objects.all())  # what the Admin API's delete of derived resources does
    again = call(memo, url)
    assert again.status == 200 and geometry(again.body) == (50, 38) and DerivedImage.objects.count() == 1
    assert again.headers["last-modified"] >= first.headers["last-modified"]

    named.create("memo_thumb", "c_scale,w_20")
    named_url = f"{BASE}/t_memo_thumb/shop/pic.jpg"
    assert geometry(call(memo, named_url).body) == (20, 15) and geometry(call(memo, named_url).body) == (20, 15)
    named.update(Transformation.objects.get(name="memo_thumb"), definition="c_scale,w_10")
    assert geometry(call(memo, named_url).body) == (10, 8)
    named.delete(Transformation.objects.get(name="memo_thumb"))
    assert call(memo, named_url).status == 400


@pytest.mark.parametrize("path", [
    "/$w_20/c_scale,w_$w/shop/pic.jpg",  # a variable: the rendering may read tags and context
    "/c_fill,w_40,h_30,g_custom/shop/pic.jpg",  # custom coordinates
])
def test_answers_that_depend_on_more_than_the_rows_are_never_remembered(stack, pic, path):
    memo, django = stack
    for _ in range(3):
        assert call(memo, BASE + path).status == 200
    assert django.calls == 3 and not memo.entries


def test_signed_urls_errors_and_other_methods_always_reach_django(stack, pic, api_key):
    import cloudinary.utils

    memo, django = stack
    signed_url = cloudinary.utils.cloudinary_url("shop/pic", width=30, crop="scale", sign_url=True,
                                                 api_key=api_key.key, api_secret=api_key.secret, cloud_name=CLOUD,
                                                 format="jpg")[0]
    path = signed_url.split(f"/{CLOUD}/", 1)[1]
    for _ in range(2):
        assert call(memo, f"/{CLOUD}/{path}").status == 200
    for _ in range(2):
        assert call(memo, f"{BASE}/shop/missing.jpg").status == 404
    assert call(memo, f"{BASE}/shop/pic.jpg", "POST").status == 403  # CSRF, as without the memo
    assert django.calls == 5 and not memo.entries


def test_an_error_is_not_remembered(stack, upload):
    memo, _ = stack
    url = f"{BASE}/c_scale,w_20/later/pic.jpg"
    assert call(memo, url).status == 404
    assert upload(make_image(40, 30, "jpg"), public_id="later/pic").status_code == 200
    assert geometry(call(memo, url).body) == (20, 15)


def test_memory_stays_within_its_budget(settings, plain, pic):
    urls = [f"{BASE}/c_scale,w_{width}/shop/pic.jpg" for width in range(30, 70)]
    sizes = [len(call(plain, url).body) for url in urls]
    settings.DAM_DELIVERY_MEMO_BYTES = 16 * max(sizes)  # every answer fits, not all of them together
    memo = DeliveryMemo(BodyGuard(WSGIHandler()))
    assert memo.item_limit == max(sizes) and sum(sizes) > memo.capacity
    for url in urls:
        assert call(memo, url).status == 200
        assert memo.bytes <= memo.capacity
        assert memo.bytes == sum(len(e.body) for e in memo.entries.values())
    remembered = [key[0][1] for key in memo.entries]
    assert len(urls) > len(remembered) >= 16  # the oldest went out ...
    assert remembered == urls[-len(remembered):]  # ... the newest stayed, in order
    settings.DAM_DELIVERY_MEMO_BYTES = 16 * (min(sizes) - 1)
    memo = DeliveryMemo(BodyGuard(WSGIHandler()))
    assert call(memo, urls[0]).status == 200 and not memo.entries  # larger than an item may be


def test_zero_turns_it_off(settings, pic):
    settings.DAM_DELIVERY_MEMO_BYTES = 0
    counter = Counting(BodyGuard(WSGIHandler()))
    memo = DeliveryMemo(counter)
    for _ in range(2):
        assert call(memo, f"{BASE}/shop/pic.jpg").status == 200
    assert counter.calls == 2 and not memo.entries


def test_the_log_of_a_first_render_is_written_after_the_answer(stack, pic, client, api_key):
    """The delivered transformation's row is written when the response is closed (after
    the server sent it); a request that is not a delivery first writes what is queued."""
    import base64

    memo, _ = stack
    environ_url = f"{BASE}/c_scale,w_33/shop/pic.jpg"
    seen = {}
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": environ_url, "QUERY_STRING": "", "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "testserver", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
    }
    result = memo(environ, lambda status, headers, exc_info=None: seen.update(status=status))
    body = b"".join(result)
    assert seen["status"].startswith("200") and geometry(body) == (33, 25)
    assert not Transformation.objects.filter(named=False).exists(), "written before the answer was sent"
    # The Admin API's listing, in the same process, sees it at once
    auth = "Basic " + base64.b64encode(f"{api_key.key}:{api_key.secret}".encode()).decode()
    listing = call(memo, f"/v1_1/{CLOUD}/transformations", query="named=false", authorization=auth)
    assert listing.status == 200
    assert b"c_scale,w_33" in listing.body
    result.close()
    assert list(Transformation.objects.filter(named=False).values_list("name", flat=True)) == ["c_scale,w_33"]
    assert named.flush_log() == 0


class SlowChecks(DeliveryMemo):
    """The real check, then a pause the test controls (to hold a check 'in flight')."""

    def __init__(self, app):
        super().__init__(app)
        self.queries = 0
        self.hold = threading.Event()
        self.holding = threading.Event()

    def _still_valid(self, entry):
        result = super()._still_valid(entry)
        self.queries += 1
        if self.queries == 1:
            self.holding.set()
            self.hold.wait(10)
        return result


def test_concurrent_hits_share_checks_and_still_see_every_earlier_change(pic):
    memo = SlowChecks(BodyGuard(WSGIHandler()))
    url = f"{BASE}/c_scale,w_44/shop/pic.jpg"
    assert call(memo, url).status == 200
    entry = next(iter(memo.entries.values()))
    results = {}

    def hit(name):
        try:
            results[name] = memo._checked(entry)
        finally:
            connection.close()

    first = threading.Thread(target=hit, args=("arrived before the change",))
    first.start()
    assert memo.holding.wait(10)  # its check has read the rows and is still in flight
    derived.forget(DerivedImage.objects.all())  # committed now
    later = [threading.Thread(target=hit, args=(f"arrived after {i}",)) for i in range(3)]
    for thread in later:
        thread.start()
    time.sleep(0.3)  # they wait for a check that begins after they arrived
    assert memo.queries == 1 and len(results) == 0
    memo.hold.set()
    for thread in [first, *later]:
        thread.join(10)
    assert results == {"arrived before the change": True, "arrived after 0": False, "arrived after 1": False,
                       "arrived after 2": False}
    assert memo.queries == 2  # one check answered the three later hits
    answer = call(memo, url)
    assert answer.status == 200 and geometry(answer.body) == (44, 33)


def test_a_broken_database_connection_falls_back_to_django_and_recovers(stack, pic):
    """The check's connection to the database server dies under it (a restart, the
    network): that hit goes through Django, which reconnects, and the memo answers the
    next one again.  (SQLite has no server connection to lose.)"""
    if connection.vendor != "postgresql":
        pytest.skip("a server connection: PostgreSQL only")
    memo, django = stack
    url = f"{BASE}/c_fill,w_36,h_27/shop/pic.jpg"
    first = call(memo, url)
    assert first.status == 200 and django.calls == 1
    assert call(memo, url).status == 200 and django.calls == 1
    connection.ensure_connection()
    connection.close_at = None  # persistent, as with DAM_DB_CONN_MAX_AGE in production (tests use 0)
    connection.connection.close()  # the DB-API connection is gone; Django does not know yet
    fallback = call(memo, url)
    assert fallback.status == 200 and fallback.without_request_id() == first.without_request_id()
    assert django.calls == 2, "the hit whose check failed went through Django"
    again = call(memo, url)
    assert again.status == 200 and same_content(again) and django.calls == 2


def test_the_prepared_check_survives_its_statement_being_dropped(stack, pic):
    """PostgreSQL: the check is prepared once per connection; a connection that lost it
    (DISCARD ALL from a pooler, a reconnect) prepares it again and the hit stays a hit."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements: PostgreSQL only")
    memo, django = stack
    url = f"{BASE}/c_fill,w_38,h_28/shop/pic.jpg"
    first = call(memo, url)
    connection.ensure_connection()
    connection.close_at = None  # persistent, as with DAM_DB_CONN_MAX_AGE in production (tests use 0)
    assert call(memo, url).status == 200 and django.calls == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'dam_memo_%%'")
        assert cursor.fetchone()[0] == 1
        cursor.execute("DEALLOCATE ALL")
    again = call(memo, url)
    assert again.status == 200 and again.without_request_id() == first.without_request_id()
    assert django.calls == 1, "still answered from the memo"
    derived.forget(DerivedImage.objects.all())
    assert call(memo, url).status == 200 and django.calls == 2, "and still sees a change"
