"""Cached hits without Django: a per-process memo of whole delivery answers.

A cached hit costs Django its request and response objects, the middleware, the URL
parse, two row reads and a file open, about half a millisecond of Python; behind a
WSGI server on two cores that, not the network, caps the hits per second.  This WSGI
wrapper (config.wsgi, outermost) remembers, per worker process, the whole answer the
delivery view (Cloudinary's, or ImageKit's for ``/ik/<cloud>/...``) gave to a ``GET``/``HEAD``
of an unsigned public URL (status, headers,
body up to a size) and serves the next identical request from memory after **one
indexed query** proves that what the answer was built from still holds:

- the asset row has the same id, ``type``, ``public_id``, ``version`` and
  ``version_id`` (an overwrite, a rename, a delete, a delete and new upload all fail
  it), and
- the derived row it came from still exists (an invalidation, a named transformation's
  update, the Admin API's delete of derived resources, an asset deletion all remove it),
  or, for the original itself, its ``updated_at`` and ``etag`` are unchanged.

Only answers that depend on nothing else are remembered: the view marks a request as
eligible (``environ["dam.memo"]``, a `Candidate`) when the URL is unsigned, the asset is
``upload`` type and found by its own public_id, and the rendering has no other
dependency (no layer, condition, variable, custom or face gravity, background removal:
derived.dependencies() is empty).  Everything else, and every first request, goes
through Django as before.  Signature, strict and version checks are those of the answer
remembered: an unsigned URL needs no signature; strict mode serves stored renderings.

The key holds what the full path reads from the request: method, path, query string,
Host and X-Forwarded-Host (ALLOWED_HOSTS was checked when the answer was made), the
scheme and the proxy's scheme header (SecurityMiddleware's redirect and HSTS), and the
request headers the answer varies on (``Vary: Accept`` for f_auto, ``Save-Data`` for
q_auto).  Conditional requests: ``If-None-Match`` is compared with the answer's ETag as
Django does (weak comparison, ``*``); a match is served from a remembered 304 (made by
the full path the first time), a mismatch gets the 200.  ``If-Match``,
``If-Unmodified-Since``, and ``If-Modified-Since`` without ``If-None-Match`` always go
through Django.  Each answer gets its own ``X-Request-Id`` as RequestIdMiddleware gives.

On PostgreSQL the check is a statement prepared once per connection and run through
libpq directly (`DeliveryMemo._prepared`): a hit's round trip to the server is most of
its cost there.

Memory: at most ``DAM_DELIVERY_MEMO_BYTES`` of bodies per process (default 32 MiB; 0
turns the memo off), least recently used first out; an answer larger than a sixteenth of
that is never remembered.  Any database error on a hit falls back to the full path.
Concurrent hits of one answer share its checks (`_Checks`): each still sees every change
committed before it arrived, with fewer round trips to a database server under load.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.db import DatabaseError, connections
from django.utils.http import parse_etags

from assets.middleware import SANE_REQUEST_ID  # RequestIdMiddleware's rule for a given id
from assets.models import Asset
from transforms.answers import ENVIRON_KEY, Candidate
from transforms.cloudinary.route import DELIVERY
from transforms.imagekit.route import DELIVERY as IMAGEKIT_DELIVERY
from transforms.models import DerivedImage

CHECK_WAIT = 10.0  # seconds a hit waits for another's check before going through Django
_CONDITIONS_NOT_HANDLED = ("HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE")


def budget_bytes() -> int:
    return max(0, int(settings.DAM_DELIVERY_MEMO_BYTES))


class _Checks:
    """An answer's checks, shared by concurrent hits: a hit waits for a check that began
    after it arrived (so it sees every change committed before it arrived), and one check
    answers every hit that arrived before the check began.  Hits of a hot URL then share
    queries instead of queueing one each on the database."""

    __slots__ = ("cond", "started", "finished", "running", "result")

    def __init__(self):
        self.cond = threading.Condition(threading.Lock())
        self.started = 0  # checks begun
        self.finished = 0  # number of the latest check done; `result` is its answer
        self.running = False
        self.result = False


@dataclass
class _Entry:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str
    alias: str
    sql: str
    params: tuple
    checks: _Checks
    statement: bytes = b""  # PostgreSQL: the prepared statement's name
    text_params: tuple[bytes, ...] = ()  # PostgreSQL: `params` in their text form


_PG_IDLE = psycopg.pq.TransactionStatus.IDLE
_PG_TUPLES_OK = psycopg.pq.ExecStatus.TUPLES_OK
_PG_COMMAND_OK = psycopg.pq.ExecStatus.COMMAND_OK
_PG_SQLSTATE = psycopg.pq.DiagnosticField.SQLSTATE


def _numbered(sql: str) -> str:
    """Django's %s placeholders as PostgreSQL's $1, $2..."""
    parts = sql.split("%s")
    return "".join(part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, 1))


def _environ_name(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _none_match(header: str, etag: str) -> bool | None:
    """True when If-None-Match `header` matches `etag` (304), False when it does not
    (200), None when it parses to nothing (Django then looks at If-Modified-Since).
    As django.utils.cache.get_conditional_response decides it."""
    etags = parse_etags(header)
    if not etags:
        return None
    if etags == ["*"]:
        return True
    target = etag.removeprefix("W/")
    return any(target == found.removeprefix("W/") for found in etags)


class _Answer:
    """The remembered body, closing the full path's response after it was sent."""

    def __init__(self, body: bytes, inner):
        self.body = body
        self.inner = inner

    def __iter__(self):
        if self.body:
            yield self.body

    def close(self):
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


class DeliveryMemo:
    def __init__(self, app):
        self.app = app
        self.capacity = budget_bytes()
        self.item_limit = self.capacity // 16
        proxy = settings.SECURE_PROXY_SSL_HEADER
        self.proto_header = proxy[0] if proxy else None
        self.lock = threading.Lock()
        self.vary: dict[tuple, tuple[str, ...]] = {}  # request key -> header names its answers vary on
        self.entries: OrderedDict[tuple, _Entry] = OrderedDict()  # (request key, header values, 304?) -> answer
        self.bytes = 0
        self.sql: dict[tuple, str] = {}
        self.routes = (DELIVERY, IMAGEKIT_DELIVERY)  # Cloudinary's and ImageKit's delivery URLs

    # --- serving --------------------------------------------------------------------

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if (method != "GET" and method != "HEAD") or not self.capacity:
            return self.app(environ, start_response)
        key = (method, environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), environ.get("HTTP_HOST"),
               environ.get("HTTP_X_FORWARDED_HOST"), environ.get("wsgi.url_scheme"),
               environ.get(self.proto_header) if self.proto_header else None)
        vary = self.vary.get(key)
        if vary is not None:
            entry = self._find(environ, key, vary)
            if entry is not None:
                given = environ.get("HTTP_X_REQUEST_ID", "")
                request_id = given if given and SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
                start_response(entry.status, [*entry.headers, ("X-Request-Id", request_id)])
                return [entry.body] if entry.body else []
        path = key[1][1:]
        if not any(route.match(path) for route in self.routes):
            return self.app(environ, start_response)
        return self._through(environ, start_response, key)

    def _find(self, environ, key: tuple, vary: tuple[str, ...]) -> _Entry | None:
        for name in _CONDITIONS_NOT_HANDLED:
            if name in environ:
                return None
        values = tuple(environ.get(_environ_name(name)) for name in vary)
        entry = self.entries.get((key, values, False))
        if entry is None:
            return None
        none_match = environ.get("HTTP_IF_NONE_MATCH")
        if none_match is None:
            if "HTTP_IF_MODIFIED_SINCE" in environ:
                return None
        else:
            matched = _none_match(none_match, entry.etag)
            if matched is None:
                return None
            if matched:
                entry = self.entries.get((key, values, True))
                if entry is None:
                    return None
        if not self._checked(entry):
            self._forget((key, values, False), (key, values, True))
            return None
        with self.lock:
            try:
                self.entries.move_to_end((key, values, entry.status.startswith("304")))
            except KeyError:  # evicted meanwhile: still a valid answer
                pass
        return entry

    def _checked(self, entry: _Entry) -> bool:
        checks = entry.checks
        with checks.cond:
            need = checks.started + 1  # the first check to begin after this request arrived
            while True:
                if checks.finished >= need:
                    return checks.result
                if not checks.running:
                    checks.running = True
                    checks.started += 1
                    mine = checks.started
                    break
                if not checks.cond.wait(timeout=CHECK_WAIT):
                    return False  # the database is slow: the full path answers
        result = False
        try:
            result = self._still_valid(entry)
        finally:
            with checks.cond:
                checks.running = False
                checks.finished = mine
                checks.result = result
                checks.cond.notify_all()
        return result

    def _still_valid(self, entry: _Entry) -> bool:
        connection = connections[entry.alias]
        try:
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()  # what request_started does for Django
            if entry.statement and not connection.in_atomic_block:
                found = self._prepared(connection, entry)
                if found is not None:
                    return found
            with connection.cursor() as cursor:
                cursor.execute(entry.sql, entry.params)
                return cursor.fetchone() is not None
        except DatabaseError:
            return False  # the full path answers (and reconnects)
        except psycopg.Error:  # on the direct path: Django did not wrap it
            connection.errors_occurred = True  # so close_if_unusable_or_obsolete() checks the connection
            return False

    @staticmethod
    def _prepared(connection, entry: _Entry) -> bool | None:
        """PostgreSQL: the check as a statement prepared once per connection, executed
        through libpq (psycopg's PGconn, which lets other threads run while it waits).
        Django binds parameters on the client, so the server would parse and plan the text
        on every hit, and psycopg's cursor machinery costs more Python than the check;
        this costs ~19 us of this process's CPU instead of ~60.  None: not usable now (a
        transaction is open), the caller runs the check through Django."""
        connection.ensure_connection()
        pgconn = connection.connection.pgconn
        if pgconn.transaction_status != _PG_IDLE:
            return None
        for attempt in range(2):
            result = pgconn.exec_prepared(entry.statement, entry.text_params)
            if result.status == _PG_TUPLES_OK:
                if connection.queries_logged:  # DEBUG or CaptureQueriesContext: listed as Django lists its own
                    connection.queries_log.append({"sql": entry.sql % entry.params, "time": "0.000"})
                return result.ntuples > 0
            if attempt == 0 and result.error_field(_PG_SQLSTATE) == b"26000":  # not prepared on this connection
                prepared = pgconn.prepare(entry.statement, _numbered(entry.sql).encode())
                if prepared.status == _PG_COMMAND_OK:
                    continue
                result = prepared
            message = (result.error_message or pgconn.error_message or b"").decode(errors="replace")
            raise psycopg.OperationalError(f"memo check: {message.strip()}")
        return None

    # --- remembering ----------------------------------------------------------------

    def _through(self, environ, start_response, key: tuple):
        captured: list = []  # [status, headers] until passed on, then ["sent"]
        real_write: list = []

        def capture(status, headers, exc_info=None):
            if exc_info is not None or (captured and captured[0] == "sent"):
                captured[:] = ["sent"]
                return start_response(status, headers, exc_info)
            captured[:] = [status, headers]
            return write

        def write(data):  # the WSGI write callable (Django never uses it): no memo then
            if not real_write:
                if captured and captured[0] != "sent":
                    status, headers = captured
                    captured[:] = ["sent"]
                    real_write.append(start_response(status, headers))
                else:
                    raise AssertionError("write() before start_response()")
            return real_write[0](data)

        result = self.app(environ, capture)
        candidate = environ.get(ENVIRON_KEY)
        if not captured or captured[0] == "sent":
            return result
        status, headers = captured
        code = status[:3]
        if (not isinstance(candidate, Candidate) or code not in ("200", "304") or candidate.size > self.item_limit
                or any(name.lower() == "set-cookie" for name, _ in headers)):
            start_response(status, headers)
            return result
        try:
            body = b"".join(result)
        except BaseException:
            close = getattr(result, "close", None)
            if close is not None:
                close()
            raise
        self._remember(environ, key, candidate, status, headers, body)
        start_response(status, headers)
        return _Answer(body, result)

    def _remember(self, environ, key: tuple, c: Candidate, status: str, headers, body: bytes) -> None:
        not_modified = status.startswith("304")
        if not_modified and not _none_match(environ.get("HTTP_IF_NONE_MATCH") or "", c.etag):
            return  # a 304 for If-Modified-Since: not what a hit would check
        if not not_modified and environ.get("REQUEST_METHOD") == "GET" and len(body) != c.size:
            return
        kept = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
        sql, params = self._check(c)
        values = tuple(environ.get(_environ_name(name)) for name in c.vary)
        entry = _Entry(status, kept, body, c.etag, c.alias, sql, params, _Checks())
        if connections[c.alias].vendor == "postgresql":
            entry.statement = b"dam_memo_" + (b"derived" if c.derived_id is not None else b"original")
            entry.text_params = tuple(str(p).encode() for p in params)
        with self.lock:
            if self.vary.get(key, c.vary) != c.vary:  # the answer's Vary changed: forget the older ones
                stale = [k for k in self.entries if k[0] == key]
                for k in stale:
                    self.bytes -= len(self.entries.pop(k).body)
            self.vary[key] = c.vary
            full = (key, values, not_modified)
            previous = self.entries.pop(full, None)
            if previous is not None:
                self.bytes -= len(previous.body)
            self.entries[full] = entry
            self.bytes += len(body)
            while self.bytes > self.capacity and self.entries:
                (old_key, _, _), old = self.entries.popitem(last=False)
                self.bytes -= len(old.body)
                if not any(k[0] == old_key for k in self.entries):
                    self.vary.pop(old_key, None)

    def _forget(self, *full_keys) -> None:
        with self.lock:
            for full in full_keys:
                entry = self.entries.pop(full, None)
                if entry is not None:
                    self.bytes -= len(entry.body)

    def _check(self, c: Candidate) -> tuple[str, tuple]:
        """The one query a hit runs, and its parameters: a row comes back while the answer holds."""
        connection = connections[c.alias]
        kind = "derived" if c.derived_id is not None else "original"
        sql = self.sql.get((c.alias, kind))
        if sql is None:
            qn = connection.ops.quote_name
            asset, derived = Asset._meta, DerivedImage._meta

            def column(meta, name):
                return qn(meta.get_field(name).column)

            where = " AND ".join(f"a.{column(asset, name)} = %s" for name in
                                 ("id", "resource_type", "type", "public_id", "version", "version_id"))
            if kind == "derived":
                sql = (f"SELECT 1 FROM {qn(asset.db_table)} a INNER JOIN {qn(derived.db_table)} d "
                       f"ON d.{column(derived, 'asset')} = a.{column(asset, 'id')} "
                       f"WHERE {where} AND d.{column(derived, 'id')} = %s")
            else:
                sql = (f"SELECT 1 FROM {qn(asset.db_table)} a WHERE {where} "
                       f"AND a.{column(asset, 'updated_at')} = %s AND a.{column(asset, 'etag')} = %s")
            self.sql[(c.alias, kind)] = sql
        params = (c.asset_id, "image", c.type, c.public_id, c.version, c.version_id)
        if kind == "derived":
            params += (c.derived_id,)
        else:
            params += (c.updated_at, c.asset_etag)
        return sql, params
