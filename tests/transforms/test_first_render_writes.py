"""What a first render writes before its answer: the derived file and one INSERT of its row
(on PostgreSQL in a transaction that does not wait for the WAL flush), besides taking and
giving back its deployment lease (the same); the log of delivered transformations is
written after the answer was sent."""

from __future__ import annotations

import io
import sys

import pytest
import pyvips
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from assets.bodyguard import BodyGuard
from assets.models import Asset
from tests.conftest import CLOUD, make_image
from transforms.cloudinary import entry
from transforms.memo import DeliveryMemo
from transforms.models_named import Transformation

pytestmark = pytest.mark.django_db(transaction=True)

WRITES = ("INSERT", "UPDATE", "DELETE")


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


@pytest.fixture
def pic(upload):
    assert upload(make_image(90, 60, "jpg"), public_id="first/pic").status_code == 200
    return Asset.objects.get(public_id="first/pic")


def test_one_insert_before_the_answer_and_the_log_after_it(pic):
    app = DeliveryMemo(BodyGuard(WSGIHandler()))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/{CLOUD}/image/upload/c_fill,w_30,h_20/first/pic.jpg",
               "QUERY_STRING": "", "SCRIPT_NAME": "", "SERVER_NAME": "testserver", "SERVER_PORT": "80",
               "HTTP_HOST": "testserver", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
               "wsgi.errors": sys.stderr}
    seen = []
    with CaptureQueriesContext(connection) as before:
        result = app(environ, lambda status, headers, exc_info=None: seen.append(status))
        body = b"".join(result)
    assert seen[0].startswith("200")
    image = pyvips.Image.new_from_buffer(body, "")
    assert (image.width, image.height) == (30, 20)
    found = writes(before)
    # the deployment-wide render lease (transforms.admission) is taken and given back around it
    lease = [sql for sql in found if "transforms_renderlease" in sql]
    assert [sql.split()[0] for sql in lease] == ["INSERT", "DELETE"], found
    found = [sql for sql in found if sql not in lease]
    assert len(found) == 1 and "transforms_derivedimage" in found[0], found
    if connection.vendor == "postgresql":
        assert sum("synchronous_commit TO OFF" in q["sql"] for q in before) == 3  # lease, row, lease
    with CaptureQueriesContext(connection) as after:
        result.close()  # what the server does once the body is sent
    assert any("transforms_transformation" in sql for sql in writes(after))
    assert list(Transformation.objects.filter(named=False).values_list("name", flat=True)) == ["c_fill,h_20,w_30"]


def test_a_callers_transaction_keeps_its_durability(pic):
    """entry.ensure (derived.ensure) inside a caller's transaction (eager at upload): a savepoint, no
    change of synchronous_commit for the caller's commit."""
    with CaptureQueriesContext(connection) as queries:
        with transaction.atomic():
            row = entry.ensure(pic, "c_scale,w_12")
    assert (row.width, row.height) == (12, 8)
    assert not any("synchronous_commit" in q["sql"] for q in queries)
