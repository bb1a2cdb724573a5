"""Log-in throttling for the browser log-in (``/login/``) and Django's admin log-in.

Failed attempts are counted per account (the username typed, whether or not such an
account exists) and per client address, in fixed windows of ``DAM_LOGIN_WINDOW``
seconds, in the database (assets.throttle), so every web process shares the count and
a restart forgets nothing.  Once an account has ``DAM_LOGIN_FAILURES_PER_ACCOUNT``
failures in the window, or an address ``DAM_LOGIN_FAILURES_PER_ADDRESS``, further
attempts are refused (429, with the minutes left on the page) without checking the
password, for ``DAM_LOGIN_WINDOW`` seconds from the failure that reached the limit (a
pause of its own, assets.throttle.pause, not just the rest of the fixed window).  The
message is the same for both limits and for accounts that do not exist, so the page
never tells whether an account exists.  A successful log-in clears its account's
failures (not its address's: one person's password must not reset the count of
someone guessing others').

The client address is ``REMOTE_ADDR``; behind the reverse proxy (``DAM_BEHIND_PROXY``)
it is the last address of ``X-Forwarded-For``, the one the proxy itself saw.  An IPv6
address counts as its /64 network, which one client can change at will.
"""

from __future__ import annotations

import ipaddress
import math
import time

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm

from assets import throttle


def client_address(request) -> str:
    address = request.META.get("REMOTE_ADDR") or ""
    if settings.DAM_BEHIND_PROXY:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if forwarded:
            address = forwarded[-1]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _counters(request, username: str) -> list[tuple[str, int]]:
    """(counter name, failures allowed) for the account and for the address."""
    return [(f"login:account:{username.strip().lower()[:200]}", settings.DAM_LOGIN_FAILURES_PER_ACCOUNT),
            (f"login:address:{client_address(request)}", settings.DAM_LOGIN_FAILURES_PER_ADDRESS)]


class ThrottledLogin:
    """Mixin for an AuthenticationForm: refuse while throttled, count each failure."""

    throttled = False

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        period = settings.DAM_LOGIN_WINDOW
        counters = _counters(self.request, username) if self.request is not None else []
        for name, _ in counters:
            until = throttle.paused_until(name)
            if until is not None:
                self.throttled = True
                minutes = max(1, math.ceil((until - time.time()) / 60))
                raise forms.ValidationError(
                    f"Too many failed log-in attempts. For your security, log-in is paused: try again in "
                    f"{minutes} minute{'s' if minutes != 1 else ''}.", code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            for name, allowed in counters:
                if throttle.hit(name, period).count >= allowed:  # the limit is reached: pause a full window
                    throttle.pause(name, period)
            raise
        if counters and getattr(self, "user_cache", None) is not None:  # logged in: the account starts afresh
            throttle.clear(counters[0][0])
        return cleaned


class LoginForm(ThrottledLogin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLogin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    form_class = LoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response
