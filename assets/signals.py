"""Events other apps react to (the derived cache drops what an event makes stale)."""

from django.dispatch import Signal

# sent after commit with asset=<Asset>: its original was replaced by a new version
asset_replaced = Signal()
# sent after commit with asset=<Asset>, replaced=<bool>: a version was stored (a new asset,
# an overwrite, a restore); per-version work starts here (face detection)
asset_stored = Signal()
# sent inside the deleting transaction, before the row goes, with asset=<Asset>;
# receivers remove their rows now and their files on commit
asset_deleted = Signal()
# sent after commit with asset=<Asset>, old_public_id, old_type: its delivery address changed
asset_renamed = Signal()
# sent inside the changing transaction with asset=<Asset>, fields=<names changed among
# "tags", "context", "face_coordinates", "custom_coordinates", "regions">: renderings that read them
# are stale (their cache keys hold the old values; receivers delete their rows)
asset_metadata_changed = Signal()
