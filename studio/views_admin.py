"""Administration (admin role): users and their roles, API keys (a secret is shown once,
on the page that answers its creation or rotation), upload presets, runtime settings."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from assets.models import ApiKey, UploadPreset, new_api_secret
from transforms.cloudinary import named
from transforms.models import RuntimeSetting

from . import roles
from .forms import ApiKeyForm, PresetForm, UserCreateForm, UserEditForm
from .roles import requires

User = get_user_model()


# --- users -------------------------------------------------------------------------


@requires("admin")
@require_http_methods(["GET", "POST"])
def users(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            user = User.objects.create_user(data["username"], data["email"], data["password"])
            roles.set_role(user, data["role"])
        messages.success(request, f"Created {user.username} ({data['role']}).")
        return redirect("users")
    rows = [{"user": u, "role": roles.role_of(u) or "viewer"} for u in User.objects.order_by("username")]
    return render(request, "studio/admin/users.html", {"rows": rows, "form": form},
                  status=422 if form.errors else 200)


@requires("admin")
@require_http_methods(["GET", "POST"])
def user_edit(request, user_id: int):
    user = get_object_or_404(User, pk=user_id)
    current = "admin" if user.is_superuser else (roles.role_of(user) or _group_role(user))
    form = UserEditForm(request.POST or None, initial={"role": current, "active": user.is_active})
    if request.method == "POST" and form.is_valid():
        role, active = form.cleaned_data["role"], form.cleaned_data["active"]
        if user == request.user and (role != "admin" or not active):
            form.add_error(None, "You cannot remove your own admin role or deactivate yourself.")
        elif user.is_superuser and role != "admin":
            form.add_error("role", "This account is a superuser: it is always an admin.")
        else:
            with transaction.atomic():
                roles.set_role(user, role)
                user.is_active = active
                user.save(update_fields=["is_active"])
            messages.success(request, f"Saved {user.username}: {role}, {'active' if active else 'deactivated'}.")
            return redirect("users")
    return render(request, "studio/admin/user_edit.html", {"subject": user, "form": form},
                  status=422 if form.errors else 200)


def _group_role(user) -> str:
    names = set(user.groups.values_list("name", flat=True))
    return next((r for r in reversed(roles.ROLES) if r in names), "viewer")


# --- API keys ------------------------------------------------------------------------


@requires("admin")
@require_http_methods(["GET", "POST"])
def api_keys(request):
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key = ApiKey.objects.create(name=form.cleaned_data["name"], role=form.cleaned_data["role"],
                                    owner=request.user)
        return render(request, "studio/admin/key_secret.html", {"key": key, "created": True})
    keys = ApiKey.objects.order_by("-active", "-created_at")
    return render(request, "studio/admin/keys.html", {"keys": keys, "form": form},
                  status=422 if form.errors else 200)


@requires("admin")
@require_POST
def api_key_rotate(request, key_id: int):
    key = get_object_or_404(ApiKey, pk=key_id, active=True)
    key.secret = new_api_secret()
    key.save(update_fields=["secret"])
    return render(request, "studio/admin/key_secret.html", {"key": key, "created": False})


@requires("admin")
@require_POST
def api_key_revoke(request, key_id: int):
    """A first POST (the list's Revoke button) asks for confirmation; the confirmed POST revokes."""
    key = get_object_or_404(ApiKey, pk=key_id)
    if request.POST.get("confirm") != "1":
        return render(request, "studio/admin/key_revoke.html", {"key": key})
    key.active = False
    key.save(update_fields=["active"])
    messages.success(request, f"Revoked API key {key.key}: calls with it are refused from now on.")
    return redirect("api-keys")


# --- upload presets ------------------------------------------------------------------


@requires("admin")
@require_http_methods(["GET", "POST"])
def presets(request):
    form = PresetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        UploadPreset.objects.create(name=form.cleaned_data["name"], unsigned=form.cleaned_data["unsigned"],
                                    settings=form.settings_for())
        messages.success(request, f"Created upload preset {form.cleaned_data['name']}.")
        return redirect("presets")
    return render(request, "studio/admin/presets.html", {"presets": UploadPreset.objects.order_by("name"),
                                                         "form": form}, status=422 if form.errors else 200)


@requires("admin")
@require_http_methods(["GET", "POST"])
def preset_edit(request, preset_id: int):
    preset = get_object_or_404(UploadPreset, pk=preset_id)
    form = PresetForm(request.POST or None, instance=preset, initial=PresetForm.initial_for(preset))
    if request.method == "POST" and form.is_valid():
        preset.name = form.cleaned_data["name"]
        preset.unsigned = form.cleaned_data["unsigned"]
        preset.settings = form.settings_for(preset.settings)
        preset.save()
        messages.success(request, f"Saved upload preset {preset.name}.")
        return redirect("presets")
    return render(request, "studio/admin/preset_edit.html", {"preset": preset, "form": form},
                  status=422 if form.errors else 200)


@requires("admin")
@require_POST
def preset_delete(request, preset_id: int):
    preset = get_object_or_404(UploadPreset, pk=preset_id)
    preset.delete()
    messages.success(request, f"Deleted upload preset {preset.name}.")
    return redirect("presets")


# --- runtime settings ------------------------------------------------------------------


@requires("admin")
@require_http_methods(["GET", "POST"])
def runtime_settings(request):
    if request.method == "POST":
        value = request.POST.get("strict_transformations")
        if value not in ("on", "off", "default"):
            messages.error(request, "Choose on, off or the deployment's default.")
        else:
            named.set_strict({"on": True, "off": False, "default": None}[value])
            messages.success(request, f"Strict transformations: {'on' if named.strict_enabled() else 'off'}.")
        return redirect("settings")
    override = RuntimeSetting.objects.filter(name=named.STRICT_SETTING).first()
    return render(request, "studio/admin/settings.html", {
        "strict": named.strict_enabled(),
        "override": None if override is None else bool(override.value),
        "default": bool(getattr(django_settings, "DAM_STRICT_TRANSFORMATIONS", False)),
    })
