"""The search expression language (assets.search): parsing into an AST, errors with their
positions and bounds, and the rows each kind of term selects (on rows made here)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from assets.models import Asset, AssetTag
from assets.search.parser import (MAX_DEPTH, MAX_LENGTH, MAX_TERMS, And, ExpressionError, Not, Or, Range, Term,
                                  Value, WILDCARD, is_expression, parse)
from assets.search.run import matching

T = lambda field, value, op=":", quoted=False, pos=0: Term(field, op, Value(value, quoted), pos)  # noqa: E731


@pytest.mark.parametrize("text, expected", [
    ("", None),
    ("cat", T(None, "cat")),
    ("tags=foo", T("tags", "foo", "=")),
    ("tags:foo", T("tags", "foo")),
    ("bytes>1mb", T("bytes", "1mb", ">")),
    ("bytes:>=100", T("bytes", "100", ">=")),
    ("width<=5", T("width", "5", "<=")),
    ('context.alt:"a b \\" c"', T("context.alt", 'a b " c', quoted=True)),
    ("public_id:sample*", T("public_id", "sample" + WILDCARD)),
    ('public_id:"star\\*"', T("public_id", "star*", quoted=True)),
    ("public_id:16\\:9", T("public_id", "16:9")),
    ("a b", And((T(None, "a"), T(None, "b", pos=2)))),
    ("a AND b", And((T(None, "a"), T(None, "b", pos=6)))),
    ("a && b", And((T(None, "a"), T(None, "b", pos=5)))),
    ("a OR b", Or((T(None, "a"), T(None, "b", pos=5)))),
    ("a || b c", Or((T(None, "a"), And((T(None, "b", pos=5), T(None, "c", pos=7)))))),
    ("NOT a", Not(T(None, "a", pos=4))),
    ("-tags:x", Not(T("tags", "x", pos=1))),
    ("!a", Not(T(None, "a", pos=1))),
    ("(a OR b) AND c", And((Or((T(None, "a", pos=1), T(None, "b", pos=6))), T(None, "c", pos=13)))),
    ("uploaded_at:[2024-01-01 TO 2024-06-01]",
     Range("uploaded_at", Value("2024-01-01"), Value("2024-06-01"), True, True)),
    ("width:{10 TO *]", Range("width", Value("10"), Value(WILDCARD), False, True)),
    ("ORANGE", T(None, "ORANGE")),  # an operator word only stands alone
    ("a-b", T(None, "a-b")),
])
def test_parse(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, message, position", [
    ("(a OR b", "Unclosed '('", 0),
    ("a AND", "Expected a term after AND", 5),
    ("OR a", "Expected a term before OR", 0),
    ("a )", "Unexpected ')'", 2),
    ("tags:", "Missing value after tags:", 5),
    ('tags:"open', "Unclosed quote", 5),
    ("width:[1 2]", "Expected TO in a range", 9),
    ("width:[1 TO 2", "Unclosed range", 0),
    ("width>[1 TO 2]", "A range follows ':' only", 6),
    ("()", "Empty parentheses", 1),
    ("a\\", "Dangling backslash", 1),
    ("NOT", "Expected a term after NOT", 3),
    ("x:16:9", "Unexpected ':'", 4),
])
def test_syntax_errors_name_the_position(text, message, position):
    with pytest.raises(ExpressionError) as error:
        parse(text)
    assert error.value.message.startswith(message)
    assert error.value.position == position
    assert f"at position {position}" in str(error.value)


def test_bounds():
    with pytest.raises(ExpressionError, match="too long"):
        parse("a" * (MAX_LENGTH + 1))
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("NOT " * (MAX_DEPTH + 1) + "a")
    with pytest.raises(ExpressionError, match="Too many terms"):
        parse(" OR ".join(["a"] * (MAX_TERMS + 1)))
    parse(" OR ".join(["a"] * MAX_TERMS))
    with pytest.raises(ExpressionError, match="Too many wildcards"):
        parse("public_id:a*b*c*d*e*")
    with pytest.raises(ExpressionError, match="Too many wildcards"):
        parse('"*a*b*c*d*"')


@pytest.mark.parametrize("text, expected", [
    ("cat", False), ("cat dog", False), ("tags:cat", True), ("cat OR dog", True), ("-cat", True),
    ("cat*", True), ('"a cat"', True), ("(cat", True), ("width>10", True), ("dog-food", False),
])
def test_is_expression(text, expected):
    assert is_expression(text) is expected


# --- what the terms select -----------------------------------------------------------------

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc)


def make(public_id, *, fmt="jpg", width=100, height=100, size=1000, tags=(), context=None, metadata=None,
         created=None, type_="upload", filename="", resource_type="image"):
    asset = Asset.objects.create(
        public_id=public_id, folder=public_id.rpartition("/")[0], version=int((created or NOW).timestamp()),
        format=fmt, width=width, height=height, bytes=size, etag="e", content_hash=public_id, storage_name="x",
        context=context or {}, metadata=metadata or {}, type=type_, original_filename=filename,
        resource_type=resource_type)
    if created:
        Asset.objects.filter(pk=asset.pk).update(created_at=created)
    for tag in tags:
        AssetTag.objects.create(asset=asset, name=tag)
    return asset


@pytest.fixture
def library(db):
    make("shoes/red", fmt="png", width=800, height=600, size=2 * 1024 * 1024, tags=("sale", "red"),
         context={"alt": "Red shoe", "caption": "on sale"}, metadata={"color": "red", "stock": 5,
                                                                     "sizes": ["s", "m"], "launch": "2024-03-01"},
         created=NOW - timedelta(hours=2), filename="IMG_001")
    make("shoes/blue", width=50, height=40, size=500, tags=("blue",), context={"alt": "Blue shoe"},
         metadata={"color": "blue", "stock": 12, "sizes": ["l"], "launch": "2024-07-01"},
         created=NOW - timedelta(days=10))
    make("shoes/kids/green", fmt="webp", width=300, height=900, size=100 * 1024, created=datetime(
        2024, 3, 10, tzinfo=timezone.utc), type_="private")
    make("sample", fmt="gif", size=10, created=datetime(2023, 1, 1, tzinfo=timezone.utc),
         resource_type="raw", filename="sample_file")


@pytest.mark.parametrize("expression, expected", [
    ("tags=sale", {"shoes/red"}),
    ("tags:blue OR tags:red", {"shoes/red", "shoes/blue"}),
    ("tags:sa*", {"shoes/red"}),
    ("-tags:sale", {"shoes/blue", "shoes/kids/green", "sample"}),
    ("resource_type:raw", {"sample"}),
    ("type:private", {"shoes/kids/green"}),
    ("public_id:shoes/*", {"shoes/red", "shoes/blue", "shoes/kids/green"}),
    ("public_id:*e*n", {"shoes/kids/green"}),
    ("public_id=sample", {"sample"}),
    ("filename:green", {"shoes/kids/green"}),
    ("folder:shoes", {"shoes/red", "shoes/blue"}),
    ("folder:shoes/*", {"shoes/red", "shoes/blue", "shoes/kids/green"}),
    ("asset_folder:shoes/kids", {"shoes/kids/green"}),
    ("format:PNG", {"shoes/red"}),
    ("bytes>1mb", {"shoes/red"}),
    ("bytes<=100kb AND bytes>10", {"shoes/blue", "shoes/kids/green"}),
    ("bytes:[10 TO 500]", {"sample", "shoes/blue"}),
    ("bytes:{10 TO 500]", {"shoes/blue"}),
    ("width>=100 AND height<500", {"sample"}),
    ("pixels>400000", {"shoes/red"}),
    ("created_at>1d", {"shoes/red"}),
    ("created_at>4w", {"shoes/red", "shoes/blue"}),
    ("created_at<4w", {"shoes/kids/green", "sample"}),
    ("created_at:2024-03-10", {"shoes/kids/green"}),
    ("created_at:[2024-01-01 TO 2024-06-01]", {"shoes/kids/green"}),
    ("created_at:[* TO 2023-12-31]", {"sample"}),
    ("uploaded_at>2024-01-01", {"shoes/red", "shoes/blue", "shoes/kids/green"}),
    ("uploaded_at:[2024-03-10 TO 2024-03-10]", {"shoes/kids/green"}),
    ("context.alt=\"Red shoe\"", {"shoes/red"}),
    ("context.alt:Blue*", {"shoes/blue"}),
    ("context:caption", {"shoes/red"}),
    ("metadata.color=blue", {"shoes/blue"}),
    ("metadata.stock>6", {"shoes/blue"}),
    ("metadata.stock=5", {"shoes/red"}),
    ("metadata.sizes=m", {"shoes/red"}),
    ("metadata.sizes:l", {"shoes/blue"}),
    ("metadata.launch<2024-05-01", {"shoes/red"}),
    ("metadata.launch:[2024-06-01 TO 2024-12-31]", {"shoes/blue"}),
    ("-metadata.stock>6", {"shoes/red", "shoes/kids/green", "sample"}),  # no value: not above 6
    ("NOT context.alt:Blue*", {"shoes/red", "shoes/kids/green", "sample"}),
    ("NOT (metadata.color=red OR tags:blue)", {"shoes/kids/green", "sample"}),
    ("shoe", {"shoes/red", "shoes/blue", "shoes/kids/green"}),
    ("sho*gre", {"shoes/kids/green"}),
    ("ue", {"shoes/blue"}),  # shorter than a trigram: LIKE
    ("G_0", {"shoes/red"}), ("g%0", set()), ("s_m", set()), ("sa%", set()),  # LIKE's wildcards are literal
    ("\"on sale\"", {"shoes/red"}),
    ("img_001", {"shoes/red"}),
    ("sample_file", {"sample"}),
    ("webp", {"shoes/kids/green"}),
    ("(tags:sale OR format:webp) AND NOT type:private", {"shoes/red"}),
    ("asset_id:nothing", set()),
])
def test_terms_select(library, expression, expected):
    assert {a.public_id for a in matching(expression, now=NOW)} == expected


@pytest.mark.parametrize("expression, message", [
    ("colour:red", "Unknown field 'colour'"),
    ("bytes>lots", "Invalid number 'lots' for bytes (units: b, kb, mb, gb)"),
    ("width>1mb", "Invalid number '1mb' for width"),
    ("created_at>yesterday", "Invalid date 'yesterday'"),
    ("tags>a", "Field 'tags' takes ':' or '='"),
    ("context:a$b", "Invalid key 'a$b'"),
    ("metadata.contains:1", "Key 'contains' can't be searched"),
    ("tags:[a TO b]", "Field 'tags' has no range"),
])
def test_semantic_errors(library, expression, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")):
        list(matching(expression, now=NOW))


# --- the free-text index ----------------------------------------------------------------


def test_sqlite_trigram_index_follows_writes(library):
    from django.db import connection

    from assets.search import text
    if connection.vendor == "postgresql":  # the trigram GIN indexes icontains can use
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'assets_asset' AND indexdef LIKE "
                           "'%%gin_trgm_ops%%'")
            assert {r[0] for r in cursor.fetchall()} == {"asset_public_id_trgm", "asset_filename_trgm",
                                                          "asset_context_trgm"}
        assert {a.public_id for a in matching("IMG_0")} == {"shoes/red"}
        return
    assert text.fts_ready()
    assert {a.public_id for a in matching("IMG_0")} == {"shoes/red"}
    red = Asset.objects.get(public_id="shoes/red")
    red.public_id, red.original_filename, red.context = "boots/crimson", "DSC_9", {"alt": "Crimson boot"}
    red.save()
    assert {a.public_id for a in matching("crimson")} == {"boots/crimson"}
    assert not matching("IMG_0").exists() and not matching('"on sale"').exists()
    Asset.objects.filter(public_id="shoes/blue").update(context={"alt": "Navy"})
    assert {a.public_id for a in matching("navy")} == {"shoes/blue"}
    Asset.objects.filter(public_id="boots/crimson").delete()
    assert not matching("crimson").exists()
    with connection.cursor() as cursor:  # a migration that rebuilds assets_asset drops its triggers
        cursor.execute("DROP TRIGGER assets_search_fts_update")
    assert not text.fts_ready()
    assert {a.public_id for a in matching("navy")} == {"shoes/blue"}  # still right, by scanning
    text.ensure_index(using="default")
    assert text.fts_ready()
    Asset.objects.filter(public_id="shoes/blue").update(public_id="shoes/teal")
    assert {a.public_id for a in matching("teal")} == {"shoes/teal"}


def test_context_values_json_would_escape(db):
    make("x/cafe", context={"alt": "Café au lait", "note": 'say "hi"', "path": "a\\b"})
    make("x/other", context={"alt": "Cafe"})
    assert [a.public_id for a in matching('context.alt="Café au lait"')] == ["x/cafe"]
    assert [a.public_id for a in matching('context.note="say \\"hi\\""')] == ["x/cafe"]
    assert [a.public_id for a in matching('context.path="a\\\\b"')] == ["x/cafe"]
    assert [a.public_id for a in matching("context.alt=Cafe")] == ["x/other"]
