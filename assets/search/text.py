"""Free-text terms of a search expression (and the Library's plain search box).

A word matches an asset whose public_id, original filename or a context value contains
it (case-insensitively), or which has a tag or format equal to it.

Indexed: on SQLite through the FTS5 trigram table ``assets_search_fts`` (migration 0011,
kept by triggers; ``ensure_index`` puts the triggers back after a migration rebuilt
assets_asset), for words of three characters or more; on PostgreSQL the pg_trgm GIN
indexes serve the ``icontains`` comparisons as they are. Without the index (or for a
shorter word) the same comparisons run as scans: the answer is the same either way.
"""

from __future__ import annotations

from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Q, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from ..models import AssetTag

FTS = "assets_search_fts"
TRIGGERS = ("assets_search_fts_insert", "assets_search_fts_update", "assets_search_fts_delete")
CREATE_TABLE = f"CREATE VIRTUAL TABLE {FTS} USING fts5(public_id, original_filename, context, tokenize='trigram')"
FILL = (f"INSERT INTO {FTS}(rowid, public_id, original_filename, context) "
        "SELECT id, public_id, original_filename, context FROM assets_asset")
CREATE_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS assets_search_fts_insert AFTER INSERT ON assets_asset BEGIN "
    f"INSERT INTO {FTS}(rowid, public_id, original_filename, context) "
    "VALUES (new.id, new.public_id, new.original_filename, new.context); END",
    f"CREATE TRIGGER IF NOT EXISTS assets_search_fts_update AFTER UPDATE OF public_id, original_filename, context "
    f"ON assets_asset BEGIN UPDATE {FTS} SET public_id = new.public_id, original_filename = new.original_filename, "
    "context = new.context WHERE rowid = new.id; END",
    f"CREATE TRIGGER IF NOT EXISTS assets_search_fts_delete AFTER DELETE ON assets_asset BEGIN "
    f"DELETE FROM {FTS} WHERE rowid = old.id; END",
)


def annotate(queryset):
    return queryset.alias(_context_text=Cast("context", TextField()))


def fts_ready() -> bool:
    """Whether the SQLite trigram table and its three triggers are there."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s, %s, %s)", [FTS, *TRIGGERS])
        return cursor.fetchone()[0] == 4


def ensure_index(sender=None, using="default", **kwargs) -> None:
    """(post_migrate) On SQLite, put back the triggers (and refill the table) if a migration
    rebuilt assets_asset and so dropped them; nothing where FTS5 is missing or on PostgreSQL."""
    conn = connections[using]
    if conn.vendor != "sqlite":
        return
    with conn.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name IN (%s, %s, %s, %s)", [FTS, *TRIGGERS])
        present = {row[0] for row in cursor.fetchall()}
        if len(present) == 4 or "assets_asset" not in conn.introspection.table_names(cursor):
            return
        try:
            with transaction.atomic(using=using):
                if FTS in present:
                    cursor.execute(f"DELETE FROM {FTS}")
                else:
                    cursor.execute(CREATE_TABLE)
                cursor.execute(FILL)
                for statement in CREATE_TRIGGERS:
                    cursor.execute(statement)
        except DatabaseError:  # no FTS5 / trigram tokenizer here: searches scan
            pass


def fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def like_pattern(text: str) -> str:
    """``%text%`` for LIKE with backslash as the escape (as Django's ``icontains`` writes it)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def free_text_q(text: str, wildcard: bool = False) -> Q:
    """Rows matching the free-text ``text``; with wildcards, rows matching each starless piece
    (``sho*s``: both ``sho`` and ``s``; a trailing star changes nothing for 'contains')."""
    if wildcard:
        result = Q()
        for part in (p for p in text.split("*") if p):
            result &= free_text_q(part)
        return result
    needle = text
    if not needle:
        return Q()
    # One id set, a UNION of branches that each use their own index (an OR of them in the
    # outer WHERE would make both databases scan every row).
    branches = ["SELECT asset_id FROM assets_assettag WHERE name = %s", "SELECT id FROM assets_asset WHERE format = %s"]
    params: list = [needle, needle.lower()]
    if len(needle) >= 3 and fts_ready():
        branches.append(f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH %s")
        params.append(fts_phrase(needle))
    else:
        pattern = like_pattern(needle)
        if connection.vendor == "postgresql":
            columns = ("UPPER((public_id)::text)", "UPPER((original_filename)::text)", "UPPER((context)::text)")
            branches += [f"SELECT id FROM assets_asset WHERE {c} LIKE UPPER(%s)" for c in columns]
        else:  # SQLite's LIKE ignores ASCII case already
            branches += [f"SELECT id FROM assets_asset WHERE {c} LIKE %s ESCAPE '\\'"
                         for c in ("public_id", "original_filename", "CAST(context AS text)")]
        params += [pattern] * 3
    return Q(pk__in=RawSQL(" UNION ".join(branches), params))


def context_prefilter(value: str) -> Q:
    """A cheap, indexed superset of the assets whose context holds ``value`` (``context.<key>=value``
    then checks the key exactly): the value as stored in the JSON text (plain ASCII, no quote or
    backslash, which JSON would escape) through the trigram index; else no narrowing."""
    if len(value) < 3 or not value.isascii() or '"' in value or "\\" in value:
        return Q()
    if fts_ready():
        return Q(pk__in=RawSQL(f"SELECT rowid FROM {FTS} WHERE context MATCH %s", [fts_phrase(value)]))
    if connection.vendor == "postgresql":
        return Q(_context_text__icontains=value)
    return Q()
