"""The asset store: assets, their versions and backups, tags, folders, presets, keys."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models

DELIVERY_TYPES = [("upload", "upload"), ("private", "private"), ("authenticated", "authenticated")]


def new_hex_id() -> str:
    return uuid.uuid4().hex


def new_share_token() -> str:
    return secrets.token_urlsafe(24)


class Folder(models.Model):
    path = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def __str__(self) -> str:
        return self.path


class Asset(models.Model):
    asset_id = models.CharField(max_length=32, unique=True, default=new_hex_id, editable=False)
    resource_type = models.CharField(max_length=16, default="image")
    type = models.CharField(max_length=16, choices=DELIVERY_TYPES, default="upload")
    public_id = models.CharField(max_length=255)
    folder = models.CharField(max_length=255, blank=True, default="", db_index=True)
    version = models.BigIntegerField()
    version_id = models.CharField(max_length=32, default=new_hex_id)
    format = models.CharField(max_length=16)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.BigIntegerField()
    etag = models.CharField(max_length=32, help_text="MD5 of the stored bytes, as Cloudinary reports it")
    content_hash = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the stored bytes")
    storage_name = models.CharField(max_length=512, help_text="Name of the original in the `default` storage")
    original_filename = models.CharField(max_length=255, blank=True, default="")
    context = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(
        default=dict, blank=True,
        help_text="Structured metadata: {field external_id: value} (string, number, ISO date, enum id, [set ids])")
    face_coordinates = models.JSONField(null=True, blank=True)
    custom_coordinates = models.JSONField(null=True, blank=True)
    regions = models.JSONField(null=True, blank=True, help_text="Named regions: {name: [[x, y], ...]} (assets.focus)")
    face_count = models.PositiveSmallIntegerField(default=0, help_text="len(face_coordinates): the Library's filter")
    faces_version = models.CharField(
        max_length=32, blank=True, default="",
        help_text="The version_id whose face_coordinates are known (detected or given); '' before detection")
    info = models.JSONField(default=dict, blank=True, help_text="Add-on results (e.g. background_removal)")
    placeholder = models.BooleanField(default=False)
    # Cloudinary's access_mode (public|authenticated) and access_control ([{access_type, start, end}],
    # times as ISO UTC text; None when never given): stored and returned (assets.access).
    access_mode = models.CharField(max_length=16, default="public")
    access_control = models.JSONField(null=True, blank=True, default=None)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Cloudinary's identity: an image and a raw file may share a public_id (assets.fileinfo)
        constraints = [models.UniqueConstraint(fields=["resource_type", "type", "public_id"],
                                               name="asset_unique_resource_type_public_id")]
        indexes = [
            models.Index(fields=["type", "public_id"]), models.Index(fields=["format"]),
            # Media Library sorts (keyset pages by name and by size; see studio/library.py, bench/library.py)
            models.Index(fields=["public_id", "id"], name="asset_public_id_id"),
            models.Index(fields=["bytes", "id"], name="asset_bytes_id"),
            models.Index(fields=["folder", "id"], name="asset_folder_id"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type}/{self.public_id}"

    @property
    def tag_names(self) -> list[str]:
        return sorted(t.name for t in self.tags.all())


class AssetTag(models.Model):
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=255, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "name"], name="asset_tag_unique")]


class AssetVersion(models.Model):
    """One stored version of an asset's original (the current one included).

    ``backed_up`` versions keep their file and can be restored; others keep only
    their metadata, as Cloudinary lists them.
    """

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="versions")
    version = models.BigIntegerField()
    version_id = models.CharField(max_length=32, unique=True)
    format = models.CharField(max_length=16)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.BigIntegerField()
    etag = models.CharField(max_length=32)
    content_hash = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=512, blank=True, default="")
    backed_up = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # EXIF, colour and palette of this version's file (assets.imagemeta), filled on first use.
    image_metadata = models.JSONField(null=True, blank=True, default=None)
    # 64-bit DCT perceptual hash of this version's pixels as 16 hex digits (assets.phash); '' until asked for.
    phash = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["-version"]


class UploadPreset(models.Model):
    name = models.CharField(max_length=255, unique=True)
    unsigned = models.BooleanField(default=False)
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


API_KEY_ROLES = [("admin", "admin"), ("editor", "editor"), ("viewer", "viewer")]


def new_api_key() -> str:
    return str(secrets.randbelow(10**15 - 10**14) + 10**14)


def new_api_secret() -> str:
    return secrets.token_urlsafe(21)


class ApiKey(models.Model):
    key = models.CharField(max_length=32, unique=True, default=new_api_key)
    secret = models.CharField(max_length=64, default=new_api_secret)
    name = models.CharField(max_length=255, blank=True, default="")
    role = models.CharField(max_length=16, choices=API_KEY_ROLES, default="admin",
                            help_text="viewer: read-only Admin API; editor: all but presets and keys; admin: all")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name or 'key'} ({self.key})"


class DeletedBackup(models.Model):
    """A backed-up version of an asset that was deleted; the Admin API's restore brings it back.

    Deleting an asset keeps the files of its backed-up versions and records them here
    (see assets.backups); restoring re-attaches them to the new asset as versions.
    """

    resource_type = models.CharField(max_length=16, default="image")
    type = models.CharField(max_length=16, default="upload")
    public_id = models.CharField(max_length=255)
    asset_id = models.CharField(max_length=32, db_index=True)
    version = models.BigIntegerField()
    version_id = models.CharField(max_length=32, unique=True)
    format = models.CharField(max_length=16)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.BigIntegerField()
    etag = models.CharField(max_length=32)
    content_hash = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=512)
    original_filename = models.CharField(max_length=255, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(help_text="When the version was uploaded")
    deleted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["type", "public_id"])]
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.type}/{self.public_id}@{self.version_id}"


class Counter(models.Model):
    """How many times something happened in one time window, shared by every process
    (Admin API calls per key per hour, failed log-ins per account and per address).
    Written only through assets.throttle, one UPSERT per event."""

    name = models.CharField(max_length=255)
    started = models.BigIntegerField(help_text="Start of the window, in seconds since the epoch")
    count = models.PositiveIntegerField(default=0)
    expires = models.BigIntegerField(db_index=True, help_text="When the window ends (rows past it are swept)")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "started"], name="counter_name_started")]

    def __str__(self) -> str:
        return f"{self.name}@{self.started}: {self.count}"


class FocusAreas(models.Model):
    """One revision of an asset's focus areas: faces, custom boxes and named regions
    (assets.focus).  The current values live on the Asset (read by every delivery without
    another query); these rows are their history.  Revisions only grow per asset; the
    current revision is the newest one of the asset's current ``version_id``."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="focus_revisions")
    version_id = models.CharField(max_length=32)
    revision = models.PositiveIntegerField()
    faces = models.JSONField(default=list, blank=True)
    custom = models.JSONField(default=list, blank=True)
    regions = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=16, help_text="detection, upload, explicit, update, refiner or api")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-revision"]
        constraints = [models.UniqueConstraint(fields=["asset", "revision"], name="focus_areas_revision")]
        indexes = [models.Index(fields=["asset", "version_id", "-revision"], name="focus_areas_current")]

    def __str__(self) -> str:
        return f"{self.asset_id}@{self.version_id} r{self.revision} ({self.source})"


class Collection(models.Model):
    """A named, ordered set of assets across folders (the Studio's Collections); shared
    read-only through ShareLink rows."""

    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    """One asset's place in a collection (``position`` ascending; an asset is in it once).
    Deleting the asset takes it out of every collection."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["collection", "asset"], name="collection_item_once")]
        indexes = [models.Index(fields=["collection", "position"], name="collection_item_order")]


class ShareLink(models.Model):
    """A link showing a collection read-only to anyone holding it (``/share/<token>/``),
    until revoked or expired.

    The token is stored as it is, not hashed: it grants a read-only view of what an editor
    chose to share, and editors need to copy the link again from the collection's page
    (an API key's secret, which grants writes, is another matter). It is 32 characters of
    ``secrets.token_urlsafe(24)``: unguessable, and looked up by its unique index."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True, default=new_share_token)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def is_live(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class MetadataField(models.Model):
    """A structured metadata field (the Admin API's ``metadata_fields``): its values live
    in ``Asset.metadata`` under ``external_id``; assets.metadata_fields validates them."""

    external_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=16)  # string, integer, date, enum, set
    label = models.CharField(max_length=255)
    mandatory = models.BooleanField(default=False)
    default_value = models.JSONField(null=True, blank=True)
    default_disabled = models.BooleanField(default=False)
    validation = models.JSONField(null=True, blank=True)
    restrictions = models.JSONField(default=dict, blank=True)
    allow_dynamic_list_values = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.external_id


class DatasourceValue(models.Model):
    """One value of an enum or set field; deleting it through the API makes it inactive
    (restorable), never removes the row."""

    field = models.ForeignKey(MetadataField, on_delete=models.CASCADE, related_name="datasource")
    external_id = models.CharField(max_length=255)
    value = models.CharField(max_length=255)
    state = models.CharField(max_length=16, default="active")  # active, inactive
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["field", "external_id"], name="datasource_value_once")]

    def __str__(self) -> str:
        return f"{self.field_id}:{self.external_id}"


class UploadMapping(models.Model):
    """An upload mapping (Admin API ``upload_mappings``): delivering
    ``/<cloud>/image/upload/<folder>/<rest>`` for an asset not stored yet fetches
    ``<template><rest>`` through the SSRF guard and stores it (assets.mappings)."""

    folder = models.CharField(max_length=255, unique=True)
    template = models.CharField(max_length=1024)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["folder"]

    def __str__(self) -> str:
        return f"{self.folder} -> {self.template}"


class ChunkSession(models.Model):
    """A chunked upload (``upload_large``) in progress (assets.chunks).  Its chunks are objects
    in the default storage; this row says who started it, the public_id chosen at its first
    chunk, the byte ranges received and which object holds each.  Any web host may take any
    chunk: the row is locked (``select_for_update``) while one is recorded."""

    upload_id = models.CharField(max_length=128, unique=True)
    owner = models.CharField(max_length=255, help_text="The credential of the first chunk: key:…, user:… or preset:…")
    public_id = models.CharField(max_length=255)
    total = models.BigIntegerField(null=True, blank=True, help_text="Size of the file; null until a chunk names it")
    ranges = models.JSONField(default=list, help_text="Merged [start, end] byte ranges received (inclusive)")
    parts = models.JSONField(default=dict, help_text='{"<start>-<end>": storage name of that chunk}')
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return f"chunks {self.upload_id} ({self.total})"


class GenerationTask(models.Model):
    """One Image Generation API request (assets.generation): sync ones too, so that a screen can
    list recent generations.  ``status`` moves pending -> processing -> completed | failed; an
    async one is run by the worker task ``assets.generation.tasks.run_generation``."""

    STATUSES = ("pending", "processing", "completed", "failed")

    task_id = models.CharField(max_length=32, unique=True, default=new_hex_id)
    request_id = models.CharField(max_length=32, default=new_hex_id)
    api_key = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=16, default="pending")
    asynchronous = models.BooleanField(default=False)
    request = models.JSONField(default=dict, help_text="The checked request (assets.generation.service.Request)")
    result = models.JSONField(null=True, blank=True, help_text='{"assets": [...]} once completed')
    error = models.JSONField(null=True, blank=True, help_text="The error body's error object once failed")
    notification_url = models.TextField(blank=True, default="")
    target_public_id = models.CharField(max_length=255, blank=True, default="", db_index=True,
                                        help_text="A managed target's public_id (what ik-genimg paths look up)")
    quota_window = models.BigIntegerField(default=0, help_text="Start of the month its quota was counted in")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["api_key", "status"], name="gentask_key_status")]

    def save(self, *args, **kwargs):
        request = self.request or {}
        if request.get("target_type") == "managed_asset":
            self.target_public_id = request.get("public_id") or ""
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"generation {self.task_id} ({self.status})"


class TemporaryImage(models.Model):
    """A generated image kept until ``expires_at`` (target_type temporary): served by a signed
    URL, deleted by ``assets.generation.tasks.expire_temporary`` (and the sweep) after."""

    token = models.CharField(max_length=32, unique=True, default=new_hex_id)
    task = models.ForeignKey(GenerationTask, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="temporaries")
    storage_name = models.CharField(max_length=255)
    format = models.CharField(max_length=8)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"temporary {self.token}.{self.format}"
