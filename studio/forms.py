"""Forms of the Studio: each validates its input with messages a person can act on."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation

from assets import ingest, metadata
from assets.api.admin_presets import NAME, unsigned_overwrite_error
from assets.api.params import as_list
from assets.models import API_KEY_ROLES, UploadPreset
from core.errors import BadRequest

from .roles import ROLE_CHOICES

CONTEXT_KEY = re.compile(r"^[^=|\s][^=|]*$")


def parse_tags(text: str) -> list[str]:
    """Comma-separated tags, within the limits every API applies (assets.metadata)."""
    try:
        return metadata.check_tags([t.strip() for t in (text or "").split(",") if t.strip()])
    except BadRequest as exc:
        raise forms.ValidationError(exc.message + ".") from None


def parse_context(text: str) -> dict:
    key_limit = settings.DAM_MAX_CONTEXT_KEY_LENGTH
    context = {}
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        key, eq, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not key:
            raise forms.ValidationError(f"Line {number}: write each entry as key=value.")
        if not CONTEXT_KEY.match(key) or len(key) > key_limit:
            raise forms.ValidationError(
                f"Line {number}: the key {key[:40]!r} must be 1 to {key_limit} characters without '=' or '|'.")
        try:
            metadata.check_context({key: value})
        except BadRequest as exc:
            raise forms.ValidationError(f"Line {number}: {exc.message}.") from None
        context[key] = value
    try:
        return metadata.check_context(context)
    except BadRequest as exc:
        raise forms.ValidationError(exc.message + ".") from None


def clean_folder(text: str) -> str:
    try:
        return ingest.validate_folder(text or "")
    except BadRequest as exc:
        raise forms.ValidationError(exc.message.replace("public_id", "folder")) from None


class TagsForm(forms.Form):
    tags = forms.CharField(required=False, label="Tags", help_text="Separate tags with commas.",
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def clean_tags(self):
        return parse_tags(self.cleaned_data["tags"])


class ContextForm(forms.Form):
    context = forms.CharField(required=False, label="Context", help_text="One key=value per line.",
                              widget=forms.Textarea(attrs={"rows": 4}))

    def clean_context(self):
        return parse_context(self.cleaned_data["context"])


class BulkForm(forms.Form):
    ACTIONS = [("tag", "Add tags"), ("untag", "Remove tags"), ("move", "Move to folder"), ("delete", "Delete"),
               ("collect", "Add to collection")]
    action = forms.ChoiceField(choices=ACTIONS, label="Action")
    ids = forms.CharField(required=False)  # asset_ids, read with getlist in the view
    tags = forms.CharField(required=False, label="Tags")
    folder = forms.CharField(required=False, label="Folder", max_length=255)
    confirm = forms.BooleanField(required=False)
    collection = forms.IntegerField(required=False, min_value=1, label="Collection")
    collection_name = forms.CharField(required=False, max_length=200, label="New collection")

    def clean(self):
        data = super().clean()
        action = data.get("action")
        data["collection_name"] = " ".join((data.get("collection_name") or "").split())
        if action == "collect" and not data.get("collection") and not data["collection_name"]:
            self.add_error("collection", "Choose a collection or name a new one to add the assets to.")
        if action in ("tag", "untag"):
            try:
                data["tag_list"] = parse_tags(data.get("tags", ""))
            except forms.ValidationError as exc:
                self.add_error("tags", exc)
                return data
            if not data["tag_list"]:
                self.add_error("tags", "Enter at least one tag.")
        if action == "move":
            try:
                data["folder"] = clean_folder(data.get("folder", ""))
            except forms.ValidationError as exc:
                self.add_error("folder", exc)
        return data


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username")
    email = forms.EmailField(required=False, label="Email")
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="viewer", label="Role")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), label="Password")

    def clean_username(self):
        name = self.cleaned_data["username"].strip()
        if not re.match(r"^[\w.@+-]+$", name):
            raise forms.ValidationError("Use letters, digits and @ . + - _ only.")
        if get_user_model().objects.filter(username__iexact=name).exists():
            raise forms.ValidationError(f"A user named {name!r} exists already.")
        return name

    def clean(self):
        data = super().clean()
        if data.get("password"):
            user = get_user_model()(username=data.get("username", ""), email=data.get("email", ""))
            try:
                password_validation.validate_password(data["password"], user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class UserEditForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES, label="Role")
    active = forms.BooleanField(required=False, label="Active (may log in)")


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=255, required=False, label="Name")
    role = forms.ChoiceField(choices=API_KEY_ROLES, initial="editor", label="Role",
                             help_text="viewer: read-only Admin API; editor: all but presets and keys; admin: all.")


class PresetForm(forms.Form):
    name = forms.CharField(max_length=255, label="Name")
    unsigned = forms.BooleanField(required=False, label="Unsigned (browsers may upload with it, no signature)")
    folder = forms.CharField(required=False, max_length=255, label="Folder")
    tags = forms.CharField(required=False, label="Tags", help_text="Separate tags with commas.")
    use_filename = forms.BooleanField(required=False, label="Use the file's name as public_id")
    overwrite = forms.BooleanField(required=False, label="Overwrite an existing public_id (signed presets only)")
    disallow_public_id = forms.BooleanField(required=False, label="Refuse a public_id sent with the upload")

    def __init__(self, *args, instance: UploadPreset | None = None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)

    def clean_name(self):
        name = self.cleaned_data["name"]
        if not NAME.match(name) or name != name.strip():
            raise forms.ValidationError("Use letters, digits, '_', '-', '.' and spaces, starting with a letter "
                                        "or digit.")
        clash = UploadPreset.objects.filter(name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"A preset named {name!r} exists already.")
        return name

    def clean_folder(self):
        return clean_folder(self.cleaned_data["folder"])

    def clean_tags(self):
        return parse_tags(self.cleaned_data["tags"])

    def clean(self):
        data = super().clean()
        message = unsigned_overwrite_error(data.get("unsigned", False), {"overwrite": data.get("overwrite", False)})
        if message:
            self.add_error("overwrite", message)
        return data

    @staticmethod
    def initial_for(preset: UploadPreset) -> dict:
        s = preset.settings or {}
        return {"name": preset.name, "unsigned": preset.unsigned, "folder": s.get("folder", ""),
                "tags": ", ".join(as_list(s.get("tags"))),
                "use_filename": str(s.get("use_filename", "")).lower() in ("1", "true"),
                "overwrite": str(s.get("overwrite", "")).lower() in ("1", "true"),
                "disallow_public_id": str(s.get("disallow_public_id", "")).lower() in ("1", "true")}

    def settings_for(self, previous: dict | None = None) -> dict:
        data = self.cleaned_data
        out = {k: v for k, v in (previous or {}).items()
               if k not in ("folder", "tags", "use_filename", "overwrite", "disallow_public_id")}
        if data["folder"]:
            out["folder"] = data["folder"]
        if data["tags"]:
            out["tags"] = ",".join(data["tags"])
        if data["use_filename"]:
            out["use_filename"] = True
        if data["overwrite"]:
            out["overwrite"] = True
        if data["disallow_public_id"]:
            out["disallow_public_id"] = True
        return out
