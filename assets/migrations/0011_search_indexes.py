"""Indexes for the search engine's free text (assets.search.text).

SQLite: an FTS5 table with the trigram tokenizer (substring matching, case-folded) over
each asset's public_id, original filename and context text, its rowid the asset's id,
kept in step by triggers on assets_asset. PostgreSQL: pg_trgm GIN indexes on the
expressions ``icontains`` compares (``UPPER(col::text)``). Where the database lacks FTS5
or may not create pg_trgm, nothing is created and searches stay correct, only slower
(assets.search.text checks for the table).
"""

from django.db import DatabaseError, migrations, transaction

FTS = "assets_search_fts"
SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(public_id, original_filename, context, tokenize='trigram')",
    f"INSERT INTO {FTS}(rowid, public_id, original_filename, context) "
    "SELECT id, public_id, original_filename, context FROM assets_asset",
    f"CREATE TRIGGER assets_search_fts_insert AFTER INSERT ON assets_asset BEGIN "
    f"INSERT INTO {FTS}(rowid, public_id, original_filename, context) "
    "VALUES (new.id, new.public_id, new.original_filename, new.context); END",
    f"CREATE TRIGGER assets_search_fts_update AFTER UPDATE OF public_id, original_filename, context ON assets_asset "
    f"BEGIN UPDATE {FTS} SET public_id = new.public_id, original_filename = new.original_filename, "
    "context = new.context WHERE rowid = new.id; END",
    f"CREATE TRIGGER assets_search_fts_delete AFTER DELETE ON assets_asset BEGIN "
    f"DELETE FROM {FTS} WHERE rowid = old.id; END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS assets_search_fts_insert", "DROP TRIGGER IF EXISTS assets_search_fts_update",
    "DROP TRIGGER IF EXISTS assets_search_fts_delete", f"DROP TABLE IF EXISTS {FTS}",
]
PG_INDEXES = {
    "asset_public_id_trgm": "UPPER((public_id)::text) gin_trgm_ops",
    "asset_filename_trgm": "UPPER((original_filename)::text) gin_trgm_ops",
    "asset_context_trgm": "UPPER((context)::text) gin_trgm_ops",
}


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            try:
                with transaction.atomic(using=connection.alias):
                    for statement in SQLITE_CREATE:
                        cursor.execute(statement)
            except DatabaseError:  # no FTS5 or no trigram tokenizer (SQLite < 3.34): plain LIKE scans
                pass
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            try:
                with transaction.atomic(using=connection.alias):
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    for name, expression in PG_INDEXES.items():
                        cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON assets_asset USING gin ({expression})")
            except DatabaseError:  # pg_trgm not installed or not allowed: plain scans
                pass


def drop(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in SQLITE_DROP:
                cursor.execute(statement)
        elif connection.vendor == "postgresql":
            for name in PG_INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("assets", "0010_asset_resource_type_identity")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
