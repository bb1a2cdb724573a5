"""Secure cookies and HSTS behind the TLS proxy (issue 10, item 10).

Settings are read once from the environment, so each case runs in a fresh Python
process with its own environment: it reads config.settings and asks the log-in page,
as the proxy would forward an HTTPS request, for its headers and cookie.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
response = Client().get("/login/", HTTP_X_FORWARDED_PROTO="https")
cookie = response.cookies["csrftoken"]
print(json.dumps({
    "session_secure": settings.SESSION_COOKIE_SECURE, "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "hsts_seconds": settings.SECURE_HSTS_SECONDS, "subdomains": settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "status": response.status_code, "hsts": response.get("Strict-Transport-Security"),
    "cookie_secure": bool(cookie["secure"]),
}))
"""


def run(**env) -> dict:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTEST", "DAM_BEHIND", "DAM_SECURE", "DAM_HSTS"))}
    base.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=base, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("env, expected", [
    ({}, {"session_secure": False, "csrf_secure": False, "hsts_seconds": 0, "subdomains": False,
          "hsts": None, "cookie_secure": False}),
    ({"DAM_BEHIND_PROXY": "1"}, {"session_secure": True, "csrf_secure": True, "hsts_seconds": 31536000,
                                 "subdomains": False, "hsts": "max-age=31536000", "cookie_secure": True}),
    ({"DAM_BEHIND_PROXY": "1", "DAM_SECURE_COOKIES": "0", "DAM_HSTS_SECONDS": "0"},
     {"session_secure": False, "csrf_secure": False, "hsts_seconds": 0, "subdomains": False, "hsts": None,
      "cookie_secure": False}),
    ({"DAM_BEHIND_PROXY": "1", "DAM_HSTS_SECONDS": "600", "DAM_HSTS_INCLUDE_SUBDOMAINS": "1"},
     {"session_secure": True, "csrf_secure": True, "hsts_seconds": 600, "subdomains": True,
      "hsts": "max-age=600; includeSubDomains", "cookie_secure": True}),
    # without the proxy nothing says the request came over HTTPS: no HSTS header, whatever the setting
    ({"DAM_SECURE_COOKIES": "1", "DAM_HSTS_SECONDS": "600"},
     {"session_secure": True, "csrf_secure": True, "hsts_seconds": 600, "subdomains": False, "hsts": None,
      "cookie_secure": True}),
], ids=["direct", "behind-proxy", "proxy-overridden-off", "proxy-custom-hsts", "direct-forced-cookies"])
def test_secure_cookies_and_hsts(env, expected):
    got = run(**env)
    assert got.pop("status") == 200
    assert got == expected
