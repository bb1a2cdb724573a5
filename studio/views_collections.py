"""Collections: named, ordered sets of assets across folders (``assets.models.Collection``),
and share links that show one read-only to someone without an account.

Viewers see collections; editors create, rename, delete, add, reorder, remove and make or
revoke share links. The share page (``/share/<token>/``) needs no login and shows no app
chrome; an unknown, revoked or expired token answers the same 404 (no oracle). It is
bounded: one lookup by the token's unique index, pages of SHARE_PAGE items.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Max
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from assets.models import Asset, Collection, CollectionItem, ShareLink

from . import downloads, links
from .roles import has_role, requires

SHARE_PAGE = 100
COLLECTION_PAGE = 200
MAX_ITEMS = 5000  # per collection
LIST_MAX = 200  # collections on the list page


class CollectionForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Enter a name.")
        return name


class ShareForm(forms.Form):
    expires_at = forms.DateTimeField(
        required=False, label="Expires (optional)", input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Empty: until revoked. Server time zone.")

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("Choose an expiry in the future, or leave it empty.")
        return value


def _collection(pk) -> Collection:
    return get_object_or_404(Collection, pk=pk)


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def add_assets(collection: Collection, assets) -> tuple[int, int]:
    """Append ``assets`` (in their order) to the collection, skipping those in it already.
    Returns (added, already there). BadRequest-free: the caller bounds the number."""
    with transaction.atomic():
        Collection.objects.select_for_update().filter(pk=collection.pk).first()  # serialise appends
        present = set(collection.items.filter(asset__in=assets).values_list("asset_id", flat=True))
        room = MAX_ITEMS - collection.items.count()
        new = [a for a in assets if a.pk not in present][:max(room, 0)]
        last = collection.items.aggregate(m=Max("position"))["m"] or 0
        CollectionItem.objects.bulk_create(
            [CollectionItem(collection=collection, asset=a, position=last + i) for i, a in enumerate(new, 1)])
        Collection.objects.filter(pk=collection.pk).update(updated_at=timezone.now())
    return len(new), len(present)


def add_message(request, collection: Collection, added: int, present: int) -> None:
    text = f"Added {added} asset{'s' if added != 1 else ''} to the collection {collection.name}."
    if present:
        text += f" {present} {'was' if present == 1 else 'were'} in it already."
    messages.success(request, text)


# --- list, create ---------------------------------------------------------------------------


@requires("viewer")
def collection_list(request):
    can_edit = has_role(request.user, "editor")
    form = CollectionForm()
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Creating a collection needs the editor role.")
        form = CollectionForm(request.POST)
        if form.is_valid():
            collection = Collection.objects.create(name=form.cleaned_data["name"], created_by=request.user)
            messages.success(request, f"Created the collection {collection.name}.")
            return redirect("collection", collection.pk)
    collections = list(Collection.objects.annotate(n=Count("items")).order_by("name", "id")[:LIST_MAX])
    secret = links.signing_secret()
    rows = []
    for collection in collections:  # at most LIST_MAX small queries: the first three assets of each
        covers = [i.asset for i in collection.items.select_related("asset").order_by("position", "id")[:3]]
        rows.append({"collection": collection, "covers": [{"asset": a, **links.thumbnail(a, secret)} for a in covers]})
    return render(request, "studio/collections/list.html", {"rows": rows, "form": form, "can_edit": can_edit})


# --- one collection -------------------------------------------------------------------------


@requires("viewer")
@require_GET
def collection_page(request, pk: int):
    collection = _collection(pk)
    paginator = Paginator(collection.items.select_related("asset").order_by("position", "id"), COLLECTION_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    secret = links.signing_secret()
    items = [{"item": i, "asset": i.asset, **links.thumbnail(i.asset, secret)} for i in page.object_list]
    now = timezone.now()
    share_links = [{"link": s, "live": s.is_live(now),
                    "url": request.build_absolute_uri(reverse("share", args=[s.token]))}
                   for s in collection.share_links.all()[:50]] if has_role(request.user, "editor") else []
    return render(request, "studio/collections/page.html", {
        "collection": collection, "items": items, "page": page, "total": paginator.count,
        "can_edit": has_role(request.user, "editor"), "rename_form": CollectionForm(initial={"name": collection.name}),
        "share_form": ShareForm(), "share_links": share_links,
    })


def _back_to(collection, anchor: str = ""):
    return redirect(reverse("collection", args=[collection.pk]) + anchor)


@requires("editor")
@require_POST
def collection_rename(request, pk: int):
    collection = _collection(pk)
    form = CollectionForm(request.POST)
    if form.is_valid():
        collection.name = form.cleaned_data["name"]
        collection.save(update_fields=["name", "updated_at"])
        messages.success(request, f"Renamed the collection to {collection.name}.")
    else:
        _form_errors(request, form)
    return _back_to(collection)


@requires("editor")
@require_POST
def collection_delete(request, pk: int):
    collection = _collection(pk)
    if request.POST.get("confirm") != "1":
        return render(request, "studio/collections/confirm_delete.html", {"collection": collection})
    name = collection.name
    collection.delete()  # its items and share links go with it; the assets stay
    messages.success(request, f"Deleted the collection {name}. Its assets are still in the library.")
    return redirect("collections")


@requires("editor")
@require_POST
def collection_add(request, pk: int):
    """Assets (``ids``) into the collection: from the asset page's Manage card."""
    collection = _collection(pk)
    ids = [i for i in request.POST.getlist("ids") if i][:501]
    assets = list(Asset.objects.filter(asset_id__in=ids[:500]).order_by("public_id"))
    if not assets:
        messages.error(request, "Choose an asset to add.")
    else:
        add_message(request, collection, *add_assets(collection, assets))
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return _back_to(collection)


@requires("editor")
@require_POST
def item_move(request, pk: int, item_id: int):
    """Up or down one place (swap positions with the neighbour), without a script."""
    collection = _collection(pk)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        messages.error(request, "Move an item up or down.")
        return _back_to(collection)
    with transaction.atomic():
        item = get_object_or_404(CollectionItem.objects.select_for_update(), pk=item_id, collection=collection)
        others = collection.items.select_for_update().exclude(pk=item.pk)
        neighbour = (others.filter(position__lt=item.position).order_by("-position", "-id").first() if direction == "up"
                     else others.filter(position__gt=item.position).order_by("position", "id").first())
        if neighbour is not None:
            item.position, neighbour.position = neighbour.position, item.position
            item.save(update_fields=["position"])
            neighbour.save(update_fields=["position"])
    return _back_to(collection, f"#item-{item.pk}")


@requires("editor")
@require_POST
def item_remove(request, pk: int, item_id: int):
    collection = _collection(pk)
    item = get_object_or_404(CollectionItem.objects.select_related("asset"), pk=item_id, collection=collection)
    item.delete()
    messages.success(request, f"Removed {item.asset.public_id} from the collection (it stays in the library).")
    return _back_to(collection)


# --- share links ----------------------------------------------------------------------------


@requires("editor")
@require_POST
def share_create(request, pk: int):
    collection = _collection(pk)
    form = ShareForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back_to(collection, "#share")
    if collection.share_links.filter(revoked_at__isnull=True).count() >= 50:
        messages.error(request, "This collection has 50 share links: revoke some first.")
        return _back_to(collection, "#share")
    ShareLink.objects.create(collection=collection, created_by=request.user,
                             expires_at=form.cleaned_data["expires_at"])
    messages.success(request, "Created a share link: copy it below.")
    return _back_to(collection, "#share")


@requires("editor")
@require_POST
def share_revoke(request, pk: int, link_id: int):
    collection = _collection(pk)
    link = get_object_or_404(ShareLink, pk=link_id, collection=collection)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    messages.success(request, "Revoked the share link: it no longer opens the collection.")
    return _back_to(collection, "#share")


@require_GET
def share_page(request, token: str):
    """Anonymous, read-only. The same 404 for an unknown, revoked or expired token."""
    link = (ShareLink.objects.select_related("collection").filter(token=token[:64]).first()
            if 16 <= len(token) <= 64 else None)
    if link is None or not link.is_live(timezone.now()):
        # One page, byte for byte, for all three (no path or token in it): nothing tells them apart.
        gone = render(request, "studio/collections/share_gone.html", status=404)
        gone["X-Robots-Tag"] = "noindex, nofollow"
        gone["Referrer-Policy"] = "no-referrer"
        return gone
    collection = link.collection
    paginator = Paginator(collection.items.select_related("asset").order_by("position", "id"), SHARE_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    secret = links.signing_secret()
    items = [{"asset": i.asset, **links.thumbnail(i.asset, secret), "view": links.path(i.asset, links.PREVIEW, secret),
              "download": downloads.download_path(i.asset, downloads.DownloadOptions())}
             for i in page.object_list]
    response = render(request, "studio/collections/share.html", {
        "collection": collection, "items": items, "page": page, "total": paginator.count, "link": link})
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response
