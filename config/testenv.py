"""pytest plugin (loaded with ``-p config.testenv`` before Django's settings).

Every test session gets its own data directory (SQLite test database, media,
filesystem broker) and its own Celery queue names, so a test run never touches the
developer's ``var/`` nor a running app's queue, and a real worker started by the
tests sees exactly what the tests write.  Callers may preset any of these.

Under pytest-xdist (``-n 2``: ``./dam test``, CI) this module runs in the controller
first, whose environment its workers inherit, then in each worker (``PYTEST_XDIST_WORKER``
set: ``gw0``, ``gw1`` ...), which takes a part of its own of everything the session
shares: a subdirectory of the data directory (and of any preset media, queue or temp
directory), queue names suffixed with the worker id.  The test database needs nothing
here: pytest-django appends the worker id to its name (``DAM_TEST_DB_NAME`` on SQLite,
``test_<name>_<DAM_TEST_DB_SUFFIX>`` on PostgreSQL).  The controller runs no test, so
nothing it creates is used by two workers; it removes the data directory at the end,
after its workers.
"""

import os
import shutil
import tempfile
import uuid

_created = None
if not os.environ.get("DAM_VAR_DIR"):
    _created = tempfile.mkdtemp(prefix="dam-test-")
    os.environ["DAM_VAR_DIR"] = _created
_session = uuid.uuid4().hex[:12]
os.environ.setdefault("DAM_CELERY_QUEUE", f"dam-test-{_session}")
os.environ.setdefault("DAM_TEST_DB_SUFFIX", _session)
# Request threads of the live test server must not keep connections past the request,
# or the test database cannot be dropped at the end.
os.environ.setdefault("DAM_DB_CONN_MAX_AGE", "0")
os.environ.setdefault("DAM_TEST_DB_NAME", os.path.join(os.environ["DAM_VAR_DIR"], "test-db.sqlite3"))

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    for _name in ("DAM_VAR_DIR", "DAM_MEDIA_ROOT", "DAM_QUEUE_DIR", "DAM_TEMP_DIR"):
        if os.environ.get(_name):
            os.environ[_name] = os.path.join(os.environ[_name], _worker)
            os.makedirs(os.environ[_name], exist_ok=True)
    for _name in ("DAM_CELERY_QUEUE", "DAM_FACES_QUEUE", "DAM_AI_QUEUE"):  # the faces queue follows the main one
        if os.environ.get(_name):
            os.environ[_name] = f"{os.environ[_name]}-{_worker}"


def pytest_unconfigure(config):
    from django.conf import settings

    if settings.configured:
        _purge_queues(settings)
    if _created and not os.environ.get("DAM_KEEP_TEST_DATA"):
        shutil.rmtree(_created, ignore_errors=True)


def _purge_queues(settings) -> None:
    """Drop what waits on the session's queues: uploads queue face detection, which no worker
    consumes unless a test starts one.  The filesystem broker's messages go with the data
    directory; Redis would keep them for good."""
    from config.celery import app

    with app.connection_for_write() as conn:
        for queue in {settings.CELERY_TASK_DEFAULT_QUEUE, settings.DAM_FACES_QUEUE}:
            conn.default_channel.queue_purge(queue)
