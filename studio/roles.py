"""Who may do what in the browser UI: three roles, kept as Django groups.

- viewer: browse, search and view assets
- editor: + upload, edit tags and context, move, delete, restore versions, delete derived images
- admin: + users, API keys, upload presets and runtime settings

A superuser is always an admin; a user in no role group is a viewer. ``requires(role)``
guards a view: anonymous users go to the login page, users below the role get a 403.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

ROLES = ("viewer", "editor", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
ROLE_CHOICES = [("viewer", "Viewer: browse and view"), ("editor", "Editor: + upload, edit, move, delete"),
                ("admin", "Admin: + users, API keys, presets, settings")]


def role_of(user) -> str | None:
    """The user's role, or None for an anonymous or inactive user."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return "admin"
    cached = getattr(user, "_dam_role", None)
    if cached is None:
        names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        cached = next((r for r in reversed(ROLES) if r in names), "viewer")
        user._dam_role = cached
    return cached


def has_role(user, role: str) -> bool:
    current = role_of(user)
    return current is not None and RANK[current] >= RANK[role]


def set_role(user, role: str) -> None:
    if role not in RANK:
        raise ValueError(f"unknown role {role!r}")
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    user._dam_role = None


def requires(role: str):
    """View decorator: log in first, then at least ``role`` (403 otherwise)."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_role(request.user, role):
                raise PermissionDenied(f"This page needs the {role} role.")
            return view(request, *args, **kwargs)

        wrapper.required_role = role
        return wrapper

    return decorate
