"""Named transformations (``/transformations/``): list with how many derived images use
each, create, edit (through transforms.cloudinary.named.update, which removes the derived images
built with the old definition exactly as the Admin API's update does), delete after a
confirmation, allowed_for_strict on and off, and a preview on a chosen asset.

Viewers see; editors change.  Names and definitions are checked by transforms.cloudinary.named's
own validators, and their messages are shown as they are.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from assets.models import Asset
from core.errors import ApiError, BadRequest, Conflict
from transforms.cloudinary import entry, named
from transforms.models_named import Transformation, transformation_key

from . import chain as chains
from . import links
from .roles import has_role, requires
from .views_studio import recent_assets, studio_url


class NamedForm(forms.Form):
    name = forms.CharField(label="Name", max_length=named.NAME_MAX_LENGTH, strip=False,
                           help_text="Used in URLs as t_<name>. Not allowed: \\ / ? & # % . , < > |")
    definition = forms.CharField(label="Definition", widget=forms.Textarea(attrs={"rows": 3}),
                                 help_text="Transformation components, e.g. c_fill,w_200,h_150/e_grayscale")
    allowed_for_strict = forms.BooleanField(label="Allowed in strict mode (unsigned URLs may use it)",
                                            required=False)

    def clean_name(self):
        try:
            return named.check_name(self.cleaned_data["name"])
        except BadRequest as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_definition(self):
        text = self.cleaned_data["definition"].strip()
        name = self.cleaned_data.get("name") or self.initial.get("name")
        try:
            return named.validate_definition(text, name)
        except BadRequest as exc:
            raise forms.ValidationError(exc.message) from None


class EditForm(NamedForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["name"]


def _row(name: str) -> Transformation:
    row = Transformation.objects.filter(key=transformation_key(True, name)).first()
    if row is None:
        raise Http404(f"No named transformation {name}")
    return row


def derived_count(row: Transformation) -> int:
    """The user's derived images built with ``row``: not the gallery's own thumbnails."""
    return named.derived_queryset(row).exclude(transformation__in=links.gallery_spellings(row.name)).count()


@requires("viewer")
@require_http_methods(["GET", "POST"])
def named_list(request):
    form = NamedForm(request.POST or None, initial={"allowed_for_strict": True}, prefix="new")
    if request.method == "POST":
        if not has_role(request.user, "editor"):
            raise_forbidden()
        if form.is_valid():
            data = form.cleaned_data
            try:
                named.create(data["name"], data["definition"], allowed_for_strict=data["allowed_for_strict"])
            except Conflict as exc:
                form.add_error("name", exc.message)
            except BadRequest as exc:
                form.add_error("definition", exc.message)
            else:
                messages.success(request, f"Created t_{data['name']}.")
                return redirect(reverse("named") + f"?created={data['name']}")
    sample, recent = _sample(request)
    secret = links.signing_secret() if sample else None
    rows = []
    for row in Transformation.objects.filter(named=True).order_by("name"):
        problem = definition_problem(row)
        thumb = links.gallery_path(sample, row.name, secret) + f"?_d={int(row.updated_at.timestamp() * 1000)}" \
            if sample and not problem else ""
        rows.append({"row": row, "count": derived_count(row), "url": reverse("named-edit", args=[row.name]),
                     "thumb": thumb, "problem": problem})
    return render(request, "studio/named/list.html", {
        "rows": rows, "form": form, "can_edit": has_role(request.user, "editor"),
        "created": request.GET.get("created", ""), "strict": named.strict_enabled(),
        "sample": sample, "recent": recent, "view": "table" if request.GET.get("view") == "table" else "gallery",
    }, status=422 if form.errors else 200)


def _sample(request) -> tuple[Asset | None, list[Asset]]:
    """The gallery's sample image: ``?on=<asset_id>`` when it names an image, else the newest."""
    recent = recent_assets()
    chosen = None
    if request.GET.get("on"):
        chosen = Asset.objects.filter(asset_id=request.GET["on"][:64], resource_type="image").first()
    chosen = chosen or (recent[0] if recent else None)
    if chosen is not None and chosen not in recent:
        recent = [chosen, *recent]
    return chosen, recent


def definition_problem(row: Transformation) -> str:
    """Why ``t_<name>`` cannot render, found without rendering (an unknown nested name, a
    cycle, a parameter the engine does not read); "" when it parses."""
    try:
        entry.from_text(f"t_{row.name}")
    except ApiError as exc:
        return exc.message
    return ""


def raise_forbidden():
    raise PermissionDenied("Changing named transformations needs the editor role.")


def _preview(request, row: Transformation) -> dict:
    recent = recent_assets()
    chosen = None
    if request.GET.get("asset"):
        chosen = Asset.objects.filter(asset_id=request.GET["asset"]).first()
    chosen = chosen or (recent[0] if recent else None)
    if chosen is None:
        return {"preview_asset": None, "recent": []}
    path, _ = chains.delivery_path(chosen, f"t_{row.name}", may_sign=has_role(request.user, "editor"))
    path += f"?_d={int(row.updated_at.timestamp() * 1000)}"  # a new definition must not meet the browser's cached image
    if chosen not in recent:
        recent = [chosen, *recent]
    return {"preview_asset": chosen, "preview": path, "recent": recent,
            "studio": studio_url(chosen, row.text)}


@requires("viewer")
@require_http_methods(["GET", "POST"])
def named_edit(request, name: str):
    row = _row(name)
    initial = {"definition": row.text, "allowed_for_strict": row.allowed_for_strict, "name": row.name}
    form = EditForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not has_role(request.user, "editor"):
            raise_forbidden()
        if form.is_valid():
            data = form.cleaned_data
            changed = named.canonical(data["definition"]) != named.canonical(row.text)
            shown = derived_count(row)  # the count the page showed: the gallery's thumbnails go too, unsaid
            try:
                removed = named.update(row, definition=data["definition"] if changed else None,
                                       allowed_for_strict=data["allowed_for_strict"])
            except BadRequest as exc:
                form.add_error("definition", exc.message)
            else:
                removed = min(removed, shown)
                note = f" Removed {removed} derived image{'s' if removed != 1 else ''} built with the old definition." \
                    if changed else ""
                messages.success(request, f"Saved t_{row.name}.{note}")
                return redirect("named-edit", name=row.name)
    return render(request, "studio/named/edit.html", {
        "row": row, "form": form, "count": derived_count(row), "can_edit": has_role(request.user, "editor"),
        **_preview(request, row),
    }, status=422 if form.errors else 200)


@requires("editor")
@require_POST
def named_strict(request, name: str):
    row = _row(name)
    named.update(row, allowed_for_strict=not row.allowed_for_strict)
    state = "allowed" if row.allowed_for_strict else "not allowed"
    messages.success(request, f"t_{row.name} is now {state} in strict mode.")
    return redirect(request.POST.get("next") if request.POST.get("next") == reverse("named-edit", args=[row.name])
                    else reverse("named"))


@requires("editor")
@require_http_methods(["GET", "POST"])
def named_delete(request, name: str):
    row = _row(name)
    if request.method == "POST":
        removed = named.delete(row)
        messages.success(request, f"Deleted t_{name} and {removed} derived image{'s' if removed != 1 else ''}.")
        return redirect("named")
    return render(request, "studio/named/delete.html", {"row": row, "count": derived_count(row)})

