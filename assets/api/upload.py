"""Upload API: ``POST /v1_1/<cloud>/<resource_type>/<action>``.

Actions: upload, destroy, rename, explicit, tags, context, metadata, generate_archive (also a
signed GET: assets/api/archive.py), text, multi, sprite (assets/api/compose.py).  Requests are signed
(``api_key``, ``timestamp``, ``signature``), made with HTTP Basic credentials, or,
for ``upload`` only, unsigned through an unsigned upload preset.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import BadRequest, Conflict, NotFound

from .. import (backups, chunks, convert, focus, ingest, keys, links, metadata, metadata_fields, phash, signals,
               signing, tasks)
from ..hooks import hook
from ..models import Asset, AssetTag, AssetVersion, UploadPreset
from . import archive, auth, compose
from .bounded_json import BoundedJSONParser
from .params import (access_fields, apply_metadata, as_bool, as_context, as_list, collect, focus_params, save_focus,
                     scalars)
from .serialize import resource_json, upload_json

RESOURCE_TYPES = ("image", "auto", "raw", "video")
DELIVERY_TYPES = ("upload", "private", "authenticated")
# What a client may set on an unsigned upload; everything else comes from the preset.
UNSIGNED_ALLOWED = {
    "file", "upload_preset", "public_id", "folder", "tags", "context", "filename_override", "callback",
    "timestamp", "face_coordinates", "custom_coordinates", "regions", "asset_folder", "display_name", "metadata",
}
# Parameters that carry JavaScript for Cloudinary to run: refused, never run as code.
CODE_PARAMS = ("eval", "on_success")


def refuse_code(params: dict) -> None:
    for name in CODE_PARAMS:
        if params.get(name) not in (None, ""):
            raise BadRequest(f"Parameter {name} is not supported: this server does not run uploaded code "
                             f"(JavaScript in {name}); set tags, context or metadata with their own parameters")


class UploadApiView(APIView):
    parser_classes = [MultiPartParser, FormParser, BoundedJSONParser]
    authentication_classes: list = []
    permission_classes: list = []
    resource_type = "image"  # of the URL; ``auto`` only for an upload (other actions act on images then)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        auth.check_cloud(kwargs.get("cloud_name", ""))  # another cloud's name: 404 whatever the method

    def post(self, request, cloud_name: str, resource_type: str, action: str):
        if resource_type not in RESOURCE_TYPES:
            raise BadRequest(f"Unsupported resource type {resource_type!r}: must be one of {', '.join(RESOURCE_TYPES)}")
        self.resource_type = resource_type
        handler = getattr(self, f"do_{action}", None)
        if handler is None:
            raise NotFound(f"Unknown Upload API action {action!r}")
        params = collect(request)
        refuse_code(params)  # before anything else: never run, whoever asks
        credential = auth.signed_credential(params, action) or auth.basic_credential(request)
        if credential is None and action != "upload":
            raise auth.Unauthorized("Must supply api_key")
        auth.check_role(credential)
        return handler(request, params, credential)

    # --- upload ------------------------------------------------------------------

    def do_upload(self, request, params: dict, credential, trusted: bool = False):
        """``trusted``: a logged-in Studio user without an API key (see upload_for_session);
        parameters are taken as from a signed call."""
        params, no_public_id = self._with_preset(params, credential, trusted)
        refuse_code(params)  # a preset's too
        signed = credential is not None or trusted
        uploaded = request.FILES.get("file")
        chunk = chunks.parse(request)
        if no_public_id and params.get("public_id") and chunk is None:
            raise BadRequest(no_public_id)

        def filename_of(incoming_name: str = "") -> str:
            return params.get("filename_override") or (uploaded.name if uploaded else incoming_name) or ""

        def public_id_for(filename: str) -> str:
            # A chunked upload chooses its public_id at its first chunk only (the SDKs send
            # the chosen one back with the next chunks): that is where a preset refuses one.
            if no_public_id and params.get("public_id"):
                raise BadRequest(no_public_id)
            if self.resource_type == "raw" and not params.get("public_id"):
                chosen = ingest.choose_public_id(
                    public_id=None, folder=params.get("folder") or params.get("asset_folder") or "",
                    filename=filename, use_filename=as_bool(params.get("use_filename"), False, "use_filename"),
                    unique_filename=as_bool(params.get("unique_filename"), True, "unique_filename"))
                return ingest.validate_public_id(chosen + ingest.raw_suffix(filename))
            return ingest.choose_public_id(
                public_id=params.get("public_id"),
                folder=params.get("folder") or params.get("asset_folder") or "",
                filename=filename,
                use_filename=as_bool(params.get("use_filename"), False, "use_filename"),
                unique_filename=as_bool(params.get("unique_filename"), True, "unique_filename"),
            )

        type_ = params.get("type") or "upload"
        if type_ not in DELIVERY_TYPES:
            raise BadRequest(f"Invalid type {type_!r}: must be one of {', '.join(DELIVERY_TYPES)}")
        self._check_breakpoints(params, self.resource_type)
        if self._eager_items(params) and self.resource_type in ("raw", "video"):  # refused before anything is stored
            raise BadRequest(f"Eager transformations are not supported for {self.resource_type} files yet")
        tags = metadata.check_tags(as_list(params.get("tags")))  # so are too many or too long tags
        context = metadata.check_context(as_context(params.get("context")))  # and too much context
        structured = as_context(params.get("metadata"))
        metadata_fields.clean_metadata(structured, check_only=True)  # and a bad structured metadata value
        if params.get("background_removal"):
            hook("background_removal").check(params["background_removal"])  # 400/503 before anything is stored
        # Focus areas are parsed now (400 before anything is stored) and clipped to the image
        # inside the transaction that stores it: a box outside the image stores nothing.
        # Empty values are left out: there is nothing to clear on an upload, and detection runs.
        focus_given = {k: v for k, v in focus_params(params).items() if v}
        detect_now = as_bool(params.get("faces"), False, "faces")
        access = access_fields(params)  # access_mode, access_control: 400 before anything is stored
        target_format = convert.check_target(params.get("format"))
        allowed_formats = as_list(params.get("allowed_formats"))
        want_phash = as_bool(params.get("phash"), False, "phash")
        if chunk is not None:
            owner = _chunk_owner(request, params, credential, trusted)
            path, meta = chunks.receive(owner, chunk, uploaded, lambda: public_id_for(filename_of()))
            if path is None:
                received = sum(e - s + 1 for s, e in meta["ranges"])
                return Response({"done": False, "public_id": meta["public_id"], "upload_id": chunk.upload_id,
                                 "bytes": received, "total_bytes": meta["total"]})
            incoming = ingest.Incoming(str(path), meta["total"], filename_of(), ingest.RemoveOnClose(path))
            public_id = meta["public_id"]
        else:
            incoming = ingest.open_source(None if uploaded else params.get("file"), uploaded)
            public_id = None
        suffix_if_raw = ""
        try:
            incoming = convert.apply(incoming, self.resource_type, target_format, allowed_formats)
            filename = filename_of(incoming.filename)
            if public_id is None and self.resource_type == "auto" and not params.get("public_id"):
                suffix_if_raw = ingest.raw_suffix(filename)  # a raw file's public_id keeps its extension
            public_id = public_id or public_id_for(filename)
            original = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] if filename else ""
            if as_bool(params.get("discard_original_filename"), False):
                original = ""
            result = ingest.store(
                incoming=incoming,
                public_id=public_id,
                type=type_,
                overwrite=as_bool(params.get("overwrite"), signed, "overwrite"),
                backup=as_bool(params.get("backup"), settings.DAM_BACKUP_BY_DEFAULT, "backup"),
                tags=tags,
                context=context,
                original_filename=original,
                within=lambda asset: (save_focus(asset, focus_given, "upload"),
                                      metadata_fields.set_asset_metadata(asset, structured, new_asset=True)),
                resource_type=self.resource_type,
                suffix_if_raw=suffix_if_raw,
                extra=access,
            )
        finally:
            incoming.close()
        asset = result.asset
        image = asset.resource_type == "image"
        faces = _faces(asset, detect_now and image)
        if image:
            self._background_removal(asset, params, credential, links.base_url(request))
        eager = self._store_eager(request, asset, params, credential) if image else None
        breakpoints = self._breakpoints(request, asset, params)
        secret = credential.secret if credential else (keys.signing_secrets() or [""])[0]
        body = upload_json(asset, request, credential.key if credential else None, secret, result.existing)
        _focus_json(body, asset, faces, "regions" in focus_given)
        _phash_json(body, asset, want_phash)
        _sign_response(body, asset, secret, params)
        if eager is not None:
            body["eager"] = eager
        if breakpoints is not None:
            body["responsive_breakpoints"] = breakpoints
        self._notify(request, params, body, credential, "upload")
        return Response(body)

    def _with_preset(self, params: dict, credential, trusted: bool = False) -> tuple[dict, str | None]:
        """(the upload's parameters with the preset's applied, why a public_id is refused or None)."""
        name = params.get("upload_preset")
        if not name:
            if credential is None and not trusted:
                raise BadRequest("Upload preset must be specified when using unsigned upload")
            return params, None
        preset = UploadPreset.objects.filter(name=name).first()
        if preset is None:
            raise BadRequest(f"Upload preset not found: {name}")
        # a preset's settings are checked as a request's are (a preset stored by other means may hold anything)
        defaults = scalars({k: v for k, v in (preset.settings or {}).items() if v not in (None, "")})
        no_public_id = None
        if as_bool(defaults.pop("disallow_public_id", None), False, "disallow_public_id"):
            no_public_id = f"Upload preset {name} does not allow a public_id (disallow_public_id): leave it out"
        if credential is None and not trusted:
            if not preset.unsigned:
                raise BadRequest("Upload preset must be whitelisted for unsigned uploads")
            rejected = sorted(k for k in params if k not in UNSIGNED_ALLOWED)
            if rejected:
                raise BadRequest(f"Parameter(s) not allowed for unsigned upload: {', '.join(rejected)}")
            merged = {**params, **defaults}
            # An unsigned upload may add tags to the preset's, never override the preset otherwise.
            if params.get("tags") and defaults.get("tags"):
                merged["tags"] = as_list(defaults["tags"]) + as_list(params["tags"])
            # Never an overwrite, whatever the preset says (Cloudinary's rule; presets stored
            # before the Admin API refused unsigned + overwrite may still say so).
            merged["overwrite"] = False
            return merged, no_public_id
        return {**defaults, **params}, no_public_id

    @staticmethod
    def _eager_items(params: dict) -> list[str]:
        """The eager transformations asked for, validated with eager_async (400 before anything is stored)."""
        as_bool(params.get("eager_async"), False, "eager_async")
        eager = params.get("eager")
        if not eager:
            return []
        items = [e for e in str(eager).split("|") if e.strip()] if isinstance(eager, str) else list(eager)
        tasks.check_eager(items)
        return items

    def _store_eager(self, request, asset: Asset, params: dict, credential):
        items = self._eager_items(params)
        if not items:
            return None
        asynchronous = as_bool(params.get("eager_async"), False)
        return tasks.request_eager(asset, items, asynchronous, params.get("eager_notification_url"),
                                   request=request, api_key=credential.key if credential else None)

    @staticmethod
    def _check_breakpoints(params: dict, resource_type: str) -> None:
        """``responsive_breakpoints`` checked (400) before anything is stored."""
        if params.get("responsive_breakpoints"):
            if resource_type in ("raw", "video"):
                raise BadRequest(f"Responsive breakpoints are not supported for {resource_type} files")
            hook("breakpoints").check(params["responsive_breakpoints"])

    @staticmethod
    def _breakpoints(request, asset: Asset, params: dict):
        """The answer's ``responsive_breakpoints`` (images only: an ``auto`` upload that was
        a raw or video file has none)."""
        if not params.get("responsive_breakpoints") or asset.resource_type != "image":
            return None
        return hook("breakpoints").compute(asset, params["responsive_breakpoints"], request)

    @staticmethod
    def _background_removal(asset: Asset, params: dict, credential, origin: str) -> None:
        """Legacy ``background_removal=cloudinary_ai[...]``: pending now, replaced by a worker."""
        if params.get("background_removal"):
            hook("background_removal").request(asset, params["background_removal"], params.get("notification_url"),
                                               credential.key if credential else None, origin)

    def _notify(self, request, params: dict, body: dict, credential, notification_type: str):
        url = params.get("notification_url")
        if url:
            tasks.enqueue_notification(url, {"notification_type": notification_type, **body},
                                       credential.key if credential else None)

    # --- generate_archive (assets/api/archive.py) ---------------------------------------

    def do_generate_archive(self, request, params: dict, credential):
        return archive.generate_archive(request, params, self.resource_type, get=request.method == "GET")

    # --- text, multi, sprite (assets/api/compose.py) ------------------------------------

    def do_text(self, request, params: dict, credential):
        return compose.do_text(request, params, credential)

    def do_multi(self, request, params: dict, credential):
        return compose.do_multi(request, params, credential)

    def do_sprite(self, request, params: dict, credential):
        return compose.do_sprite(request, params, credential)

    # --- explicit ------------------------------------------------------------------

    def do_explicit(self, request, params: dict, credential):
        asset = _get_asset(params.get("public_id"), params.get("type"), resource_type=self.resource_type)
        invalidate = as_bool(params.get("invalidate"), False, "invalidate")  # refused before anything is written
        self._eager_items(params)
        self._check_breakpoints(params, asset.resource_type)
        detect_now = as_bool(params.get("faces"), False, "faces") and asset.resource_type == "image"
        want_phash = as_bool(params.get("phash"), False, "phash")
        if self._eager_items(params) and asset.resource_type != "image":
            raise BadRequest(f"Eager transformations are not supported for {asset.resource_type} files yet")
        apply_metadata(asset, params, source="explicit")
        faces = _faces(asset, detect_now)
        if invalidate:
            transaction.on_commit(lambda: signals.asset_replaced.send(Asset, asset=asset))
        eager = self._store_eager(request, asset, params, credential)
        breakpoints = self._breakpoints(request, asset, params)
        body = upload_json(asset, request, credential.key, credential.secret)
        _focus_json(body, asset, faces, params.get("regions") is not None)
        _phash_json(body, asset, want_phash)
        _sign_response(body, asset, credential.secret, params)
        if eager is not None:
            body["eager"] = eager
        if breakpoints is not None:
            body["responsive_breakpoints"] = breakpoints
        self._notify(request, params, body, credential, "explicit")
        return Response(body)

    # --- metadata (structured) ------------------------------------------------------

    def do_metadata(self, request, params: dict, credential):
        """``metadata`` (``k=v|k2=v2``; "" clears one) on ``public_ids[]``; ``clear_invalid``
        drops stored values that no longer validate. All assets or none."""
        given = as_context(params.get("metadata"))
        if not given:
            raise BadRequest("Missing required parameter - metadata")
        clear_invalid = as_bool(params.get("clear_invalid"), False, "clear_invalid")
        assets = _assets_for(params)
        with transaction.atomic():
            for asset in assets:
                metadata_fields.set_asset_metadata(asset, given, clear_invalid=clear_invalid)
        body = {"public_ids": [a.public_id for a in assets]}
        self._notify(request, params, body, credential, "metadata")
        return Response(body)

    # --- destroy ---------------------------------------------------------------------

    def do_destroy(self, request, params: dict, credential):
        public_id = params.get("public_id")
        if not public_id:
            raise BadRequest("Missing required parameter - public_id")
        deleted = delete_assets(Asset.objects.filter(resource_type=_stored_type(self.resource_type),
                                                     type=params.get("type") or "upload", public_id=public_id))
        body = {"result": "ok" if deleted else "not found"}
        self._notify(request, params, {**body, "public_id": public_id}, credential, "delete")
        return Response(body)

    # --- rename ----------------------------------------------------------------------

    def do_rename(self, request, params: dict, credential):
        source = _get_asset(params.get("from_public_id"), params.get("type"), name="from_public_id",
                            resource_type=self.resource_type)
        old_public_id = source.public_id
        context = params.get("context")
        rename_asset(source, str(params.get("to_public_id") or ""), to_type=params.get("to_type") or None,
                     overwrite=as_bool(params.get("overwrite"), False, "overwrite"),
                     context=None if context is None else as_context(context))
        body = resource_json(source, request)
        self._notify(request, params, {**body, "from_public_id": old_public_id}, credential, "rename")
        return Response(body)

    # --- tags and context ----------------------------------------------------------

    def do_tags(self, request, params: dict, credential):
        command = params.get("command")
        tags = metadata.check_tag_names(as_list(params.get("tag")))  # counts are checked per asset (set_tags)
        assets = _assets_for(params, self.resource_type)
        with transaction.atomic():
            for asset in assets:
                if command == "add":
                    ingest.set_tags(asset, asset.tag_names + tags)
                elif command == "remove":
                    AssetTag.objects.filter(asset=asset, name__in=tags).delete()
                elif command == "replace":
                    ingest.set_tags(asset, tags)
                elif command == "remove_all":
                    AssetTag.objects.filter(asset=asset).delete()
                elif command == "set_exclusive":
                    AssetTag.objects.filter(name__in=tags).exclude(asset=asset).delete()
                    ingest.set_tags(asset, asset.tag_names + tags)
                else:
                    raise BadRequest(f"Invalid command {command!r}: add, remove, replace, remove_all or set_exclusive")
                if command in ("add", "replace", "set_exclusive") and not tags:
                    raise BadRequest("Missing required parameter - tag")
        body = {"public_ids": [a.public_id for a in assets]}
        self._notify(request, params, body, credential, "tags")
        return Response(body)

    def do_context(self, request, params: dict, credential):
        command = params.get("command")
        assets = _assets_for(params, self.resource_type)
        context = as_context(params.get("context"))
        with transaction.atomic():
            for asset in assets:
                if command == "add":
                    if not context:
                        raise BadRequest("Missing required parameter - context")
                    asset.context = metadata.check_context({**asset.context, **context})
                elif command == "remove_all":
                    asset.context = {}
                else:
                    raise BadRequest(f"Invalid command {command!r}: add or remove_all")
                asset.save(update_fields=["context", "updated_at"])
        body = {"public_ids": [a.public_id for a in assets]}
        self._notify(request, params, body, credential, "context")
        return Response(body)


class ArchiveApiView(UploadApiView):
    """``generate_archive`` also answers the signed GET of ``download_archive_url`` (its own
    route, so the other Upload API calls stay POST only)."""

    def get(self, request, cloud_name: str, resource_type: str):
        return self.post(request, cloud_name, resource_type, "generate_archive")

    def post(self, request, cloud_name: str, resource_type: str, action: str = "generate_archive"):
        return super().post(request, cloud_name, resource_type, "generate_archive")


def rename_asset(source: Asset, to_public_id: str, *, to_type: str | None = None, overwrite: bool = False,
                 context: dict | None = None) -> Asset:
    """The Upload API's rename (also the Studio's): a new public_id (and type), its folder
    created; 409 when taken unless ``overwrite`` (then the other asset is deleted)."""
    to_public_id = ingest.validate_public_id(to_public_id)
    to_type = to_type or source.type
    if to_type not in DELIVERY_TYPES:
        raise BadRequest(f"Invalid to_type {to_type!r}")
    old_public_id, old_type = source.public_id, source.type
    with transaction.atomic():
        target = Asset.objects.filter(resource_type=source.resource_type, type=to_type,
                                      public_id=to_public_id).exclude(pk=source.pk).first()
        if target is not None:
            if not overwrite:
                raise Conflict(f"Resource already exists - {to_public_id}")
            delete_assets(Asset.objects.filter(pk=target.pk))
        source.public_id, source.type = to_public_id, to_type
        source.folder = to_public_id.rpartition("/")[0]
        if context is not None:
            source.context = metadata.check_context(context)
        try:
            with transaction.atomic():
                source.save()
        except IntegrityError:
            source.public_id, source.type = old_public_id, old_type
            raise Conflict(f"Resource already exists - {to_public_id}") from None
        ingest.ensure_folders(source.folder)
        transaction.on_commit(lambda: signals.asset_renamed.send(
            Asset, asset=source, old_public_id=old_public_id, old_type=old_type))
    return source


def upload_for_session(request, params: dict, resource_type: str = "image") -> dict:
    """The Upload API's upload for a logged-in Studio user (the Media Library's upload
    endpoint): the same path as ``POST .../<resource_type>/upload``, with the parameters
    trusted as from a signed call. Returns the upload response body; raises ApiError."""
    view = UploadApiView()
    view.resource_type = resource_type
    return view.do_upload(request, params, None, trusted=True).data


def _faces(asset: Asset, now: bool) -> list | None:
    """``faces=true``: the faces of the asset's current version, detected now unless known
    (given ones included); None otherwise. (Every stored version's detection is queued for
    the worker anyway, by signals.asset_stored.)"""
    return hook("faces").ensure(asset) if now else None


def _focus_json(body: dict, asset: Asset, faces: list | None, regions: bool) -> None:
    """``faces`` when asked for (``faces=true``), ``regions`` (the resource details' shape)
    when the call gave them."""
    if faces is not None:
        body["faces"] = faces
    if regions and asset.regions:
        body["regions"] = focus.regions_as_list(asset.regions)


def _phash_json(body: dict, asset: Asset, wanted: bool) -> None:
    """``phash=true``: the image's perceptual hash (assets.phash), 16 hex digits."""
    if wanted:
        value = phash.for_asset(asset)
        if value is not None:
            body["phash"] = value


def _chunk_owner(request, params: dict, credential, trusted: bool) -> str:
    """Who a chunked upload belongs to (assets.chunks binds the session to it)."""
    if credential is not None:
        return f"key:{credential.key}"
    if trusted:
        return f"user:{request.user.pk}"
    return f"preset:{params.get('upload_preset')}"


def _sign_response(body: dict, asset: Asset, secret: str, params: dict) -> None:
    """Sign the response with the request's algorithm: an SDK configured for SHA-256 verifies with it."""
    algorithm = signing.algorithm_of(params.get("signature"))
    if algorithm != "sha1":
        body["signature"] = signing.response_signature(asset.public_id, asset.version, secret or "", algorithm)


def _stored_type(resource_type: str) -> str:
    """The resource type an action other than upload acts on (``auto`` means image there)."""
    return "image" if resource_type == "auto" else resource_type


def _get_asset(public_id, type_=None, name: str = "public_id", resource_type: str = "image") -> Asset:
    if not public_id:
        raise BadRequest(f"Missing required parameter - {name}")
    asset = Asset.objects.filter(resource_type=_stored_type(resource_type), type=type_ or "upload",
                                 public_id=public_id).first()
    if asset is None:
        raise NotFound(f"Resource not found - {public_id}")
    return asset


def _assets_for(params: dict, resource_type: str = "image") -> list[Asset]:
    public_ids = as_list(params.get("public_ids"))
    if not public_ids:
        raise BadRequest("Missing required parameter - public_ids")
    if len(public_ids) > 1000:
        raise BadRequest("Too many public_ids: at most 1000 per call")
    found = {a.public_id: a for a in Asset.objects.filter(resource_type=_stored_type(resource_type),
                                                          type=params.get("type") or "upload",
                                                          public_id__in=public_ids)}
    return [found[p] for p in public_ids if p in found]


def delete_assets(queryset) -> list[str]:
    """Delete assets, their versions and files (after commit), keeping backed-up versions'
    files as DeletedBackup rows. Returns the deleted public_ids."""
    deleted = []
    for asset in list(queryset):
        files = [asset.storage_name] + list(
            AssetVersion.objects.filter(asset=asset).exclude(storage_name="").values_list("storage_name", flat=True))
        kept = backups.keep_backups(asset)  # backed-up versions outlive the asset, for restore
        files = [n for n in files if n not in kept]
        public_id = asset.public_id
        signals.asset_deleted.send(Asset, asset=asset)  # derived rows go with it, before the cascade
        asset.delete()
        deleted.append(public_id)
        transaction.on_commit(lambda files=files: [ingest.discard_file(n) for n in set(files) if n])
    return deleted
