"""A WSGI app for tests/config/test_server_environ.py, served by the real granian: config.server's
GranianEnviron in front of an app that reports what it was given."""

import json
import os

from config.server import GranianEnviron


def _probe(environ, start_response):
    stream = environ["wsgi.input"]
    first = stream.read(10)
    line = stream.readline()
    rest = stream.read()
    body = json.dumps({
        "keys": sorted(environ),
        "secret": environ.get("DAM_PROBE_SECRET"),
        "server": environ.get("SERVER_SOFTWARE"),
        "body": (first + line + rest).decode("latin-1"),
        "pieces": [len(first), len(line), len(rest)],
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


os.environ.setdefault("DAM_PROBE_SECRET", "")
application = GranianEnviron(_probe)
