"""Calls to the operator's own HTTP back-ends (image generation and editing servers): one bounded,
retried exchange, shared by the Image Generation API (assets.generation.backends) and the engine's
generative effects (transforms.ai.backends), which word the failures in their own terms.

The back-ends are the operator's configuration, so a loopback or private address is fine: plain
``requests``, not assets.outbound (whose SSRF guard is for URLs that users supply).  `exchange`
returns the body of a 2xx answer, read in chunks up to ``max_bytes`` and before ``end`` (a
``time.monotonic()`` value); it retries after a connection error, a 5xx or a 429 (exponential
back-off from ``backoff`` seconds, or the answer's ``Retry-After``) while attempts and time are
left.  It raises `TimedOut` when ``end`` passes, `Failed` for anything else (its ``problem`` reads
after the back-end's name; ``attempts`` is set when the retries ran out).
"""

from __future__ import annotations

import base64
import binascii
import json
import time

import requests


class TimedOut(Exception):
    pass


class Failed(Exception):
    def __init__(self, problem: str, attempts: int | None = None):
        super().__init__(problem)
        self.problem = problem
        self.attempts = attempts


def _body(response: requests.Response, end: float, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise Failed(f"answered more than {max_bytes} bytes")
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise Failed(f"answered more than {max_bytes} bytes")
        if time.monotonic() >= end:
            raise TimedOut()
        chunks.append(chunk)
    return b"".join(chunks)


def _detail(response: requests.Response, secret: str) -> str:
    """A short excerpt of an error answer (IOPaint says ``{"detail": ...}``, OpenAI ``{"error": {"message"}}``);
    a back-end echoing ``secret`` never shows it."""
    try:
        body = json.loads(next(response.iter_content(2048), b"").decode("utf-8", "replace"))
        detail = body.get("detail") or (body.get("error") or {}).get("message") if isinstance(body, dict) else None
    except (ValueError, requests.RequestException, AttributeError):
        return ""
    if not detail:
        return ""
    detail = str(detail)[:200]
    return ": " + (detail.replace(secret, "<key>") if secret else detail)


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


def exchange(method: str, url: str, *, end: float, max_bytes: int, retries: int, backoff: float,
             secret: str = "", **kwargs) -> bytes:
    attempts = 1 + max(0, retries)
    problem = ""
    for attempt in range(attempts):
        left = end - time.monotonic()
        if left <= 0:
            raise TimedOut()
        pause = backoff * 2**attempt
        try:
            with requests.request(method, url, timeout=(min(left, 10.0), left), stream=True, **kwargs) as response:
                if response.status_code < 300:
                    return _body(response, end, max_bytes)
                problem = f"answered HTTP {response.status_code}{_detail(response, secret)}"
                if response.status_code != 429 and response.status_code < 500:
                    raise Failed(problem)
                pause = _retry_after(response, pause)
        except requests.Timeout:
            raise TimedOut() from None
        except requests.RequestException as error:
            problem = f"could not be reached ({type(error).__name__})"
        if attempt + 1 == attempts or end - time.monotonic() <= pause:
            break
        time.sleep(pause)
    raise Failed(problem, attempts)


def openai_image(answer: bytes) -> bytes | str:
    """An OpenAI images answer's image: the bytes of ``data[0].b64_json``, or the URL in ``data[0].url``
    (str) for the caller to fetch with the same bounds."""
    try:
        first = json.loads(answer)["data"][0]
        if first.get("b64_json"):
            return base64.b64decode(first["b64_json"], validate=True)
        url = first["url"]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, binascii.Error):
        raise Failed("answered no data[0].b64_json or data[0].url") from None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise Failed("answered an unusable data[0].url")
    return url
