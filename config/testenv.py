"""pytest plugin (loaded with ``-p config.testenv`` before Django's settings).

Every test session gets its own data directory (SQLite test database, media,
filesystem broker) and its own Celery queue name, so a test run never touches the
developer's ``var/`` nor a running app's queue, and a real worker started by the
tests sees exactly what the tests write.  Callers may preset any of these.
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


def pytest_unconfigure(config):
    if _created and not os.environ.get("DAM_KEEP_TEST_DATA"):
        shutil.rmtree(_created, ignore_errors=True)
