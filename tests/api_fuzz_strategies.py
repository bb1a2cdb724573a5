"""Hypothesis strategies for hostile Upload and Admin API parameters (test_api_fuzz.py).

A parameter's value is drawn from what a real call would send (so the call goes deep:
the asset exists, the command is known) or from hostile kinds: numbers with hundreds
or thousands of digits, ``1e400``/``NaN``/``Infinity`` as text and as JSON tokens, text
with NUL, control characters, lone surrogates (JSON only) or other scripts, empty values,
lists where one value is expected and the other way round, objects, JSON text inside a
form field, nesting up to and far beyond the bound.  A parameter may come as ``key``,
as ``key[]``, or as both (also repeated inside one JSON object).
"""

from __future__ import annotations

import base64
import json

from hypothesis import strategies as st

from tests.api_hostile import Pairs, Raw, to_json

# Keys any call may carry on top of its own: plumbing, other calls' parameters, odd names.
EXTRA_KEYS = ("timestamp", "api_key", "signature", "resource_type", "type", "tags", "context", "public_id",
              "notification_url", "", "[]", "x[][]", "é", "a b", "folder")

DEEP = ("[" * 3000 + "]" * 3000, '{"a":' * 3000 + "1" + "}" * 3000)
NUMBER_TEXTS = ("1e400", "-1e400", "1e308", "1e-400", "nan", "NaN", "inf", "-inf", "Infinity", "0x1f", "1_000",
                "\u0661\u0662", "\u00b2", "-0", "+5", " 7 ", "1.5", "9" * 5000, "-" + "9" * 400,
                "9223372036854775808", "-9223372036854775809")
SPECIAL_TEXTS = ("", " ", "\x00", "a\x00b", "\t\r\n", "../x", "a//b", "/", "%", "%00", "é", "😀", "\u202e",
                 "a,b", ",", "a|b", "|", "k=v|x=y", "=v", "\\", "\\|", '"', "'", "[", "{", "[]", "{}", "[1,2]",
                 '{"a":1}', '["a",["b"]]', '{"a":{"b":[1e400]}}', "[1e400]", "x" * 300, "true", "null", "undefined")
# Transformation texts with numbers the engine's parsers must bound (eager, named transformations).
TRANSFORMATION_TEXTS = ("w_1e400", "w_" + "9" * 400, "h_nan", "c_fill,w_inf", "if_w_gt_1e400/w_10", "$v_1e400/w_$v",
                        "$v_" + "9" * 400 + "/w_$v", "w_iw_mul_" + "9" * 15 + "_mul_" + "9" * 15,
                        "e_blur:" + "9" * 5000,
                        "a_1e400", "x_-1e400", "dpr_1e400", "ar_1e400:1", "o_nan", "r_" + "9" * 400,
                        "w_10/" * 100, "t_" + "x" * 300, "e_tint:100:red:" + "9" * 400 + "p", "q_auto:" + "9" * 400)
RAW_TOKENS = (Raw("1e400"), Raw("-1e400"), Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("9" * 400),
              Raw("9" * 5000), Raw("1e-400"), Raw("-0.0"), Raw('"\\ud800"'), Raw('"a\\udc00b"'), Raw('"\\u0000"'))


CURSOR_KINDS = ("id:d", "id:a", "pid:a", "pid:d", "del", "tag", "folder", "preset", "transformations",
                "transformation-derived")


def cursor(kind, value) -> str:
    """A next_cursor as the Admin API writes them, around any value."""
    return base64.urlsafe_b64encode(to_json([kind, value]).encode("utf-8", "surrogatepass")).decode().rstrip("=")


def good_values(ids: dict) -> dict[str, tuple]:
    """What real calls send, per parameter: these reach the code behind the checks."""
    stroke = [{"tool": "remove", "size": 0.1, "points": [[0.2, 0.2], [0.4, 0.5]]}]
    return {
        "public_id": ("fuzz/one", "fuzz/two", "fuzz/new"), "from_public_id": ("fuzz/one", "fuzz/two"),
        "to_public_id": ("fuzz/three", "fuzz/two"), "public_ids": ("fuzz/one", "fuzz/one,fuzz/two", ["fuzz/two"]),
        "folder": ("fuzz", "other"), "asset_folder": ("fuzz",), "to_folder": ("moved", "fuzz/sub"),
        "type": ("upload", "private"), "to_type": ("upload", "authenticated"),
        "tags": ("red", "a,b", ["x", "y"], "true"), "tag": ("red", "new"), "context": ("k=v", "alt=a|b=c", {"k": "v"}),
        "face_coordinates": ("1,2,3,4", [[1, 2, 3, 4]], ""), "custom_coordinates": ("0,0,5,5|1,1,2,2", ""),
        "command": ("add", "remove", "replace", "remove_all", "set_exclusive"),
        "overwrite": ("true", "false"), "backup": ("true",), "invalidate": ("true",), "use_filename": ("true",),
        "unique_filename": ("false",), "filename_override": ("name.jpg",), "display_name": ("A name",),
        "discard_original_filename": ("true",),
        "eager": (*TRANSFORMATION_TEXTS, "w_5", "w_5,h_5,c_fill|e_grayscale/jpg"),
        "eager_async": ("false",), "upload_preset": ("fuzzpreset",), "max_results": ("1", "2", 500),
        "direction": ("asc", "desc", "-1"), "prefix": ("fuzz", "fuzz/o"),
        "start_at": ("2020-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00", "2020-02-30"),
        "next_cursor": (cursor("id:d", 2), cursor("pid:a", ["fuzz/one", 1]), cursor("del", 1), cursor("tag", "a")),
        "asset_ids": (ids["asset_id"],), "derived_resource_ids": (ids["derived_id"] or "none",),
        "versions": (ids["version_id"], "true"), "keep_original": ("true",), "all": ("true",),
        "transformations": (*TRANSFORMATION_TEXTS, "w_10",), "faces": ("true",), "coordinates": ("true",),
        "key": ("alt",), "value": ("seed",), "name": ("fuzzname", "fresh", "fuzzpreset"), "unsigned": ("true",),
        "transformation": (*TRANSFORMATION_TEXTS, "w_10", "fuzzname", "t_fuzzname", "w_10,h_10,c_fill"),
        "named": ("true", "false"),
        "allowed_for_strict": ("true", "false"), "unsafe_update": (*TRANSFORMATION_TEXTS, "w_20",),
        "strokes": (stroke, json.dumps(stroke), []), "base_revision": ("0", 0),
        "timestamp": ("1",), "background_removal": ("cloudinary_ai:nothing",),
        "notification_url": ("not-a-url",), "file": ("data:image/png;base64,iVBORw0KGgo=",),
    }


def scalars() -> st.SearchStrategy:
    """One hostile value of any simple kind."""
    return st.one_of(
        st.sampled_from(SPECIAL_TEXTS), st.sampled_from(NUMBER_TEXTS), st.sampled_from(RAW_TOKENS),
        st.text(max_size=12), st.integers(min_value=10**17, max_value=10**450).map(str),
        st.integers(min_value=-(10**25), max_value=10**25), st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(), st.none(),
    )


def _nest(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)


def structured(leaves: st.SearchStrategy) -> st.SearchStrategy:
    """Lists and objects of `leaves`, nested a few levels; or nested far past the bound."""
    nested = st.recursive(leaves, _nest, max_leaves=6)
    deep = st.integers(min_value=30, max_value=40).map(lambda n: Raw("[" * n + "1" + "]" * n))
    return st.one_of(nested, deep, st.sampled_from([Raw(d) for d in DEEP]), st.sampled_from(DEEP))


def hostile_for(name: str) -> st.SearchStrategy:
    hostile = st.one_of(scalars(), structured(scalars()))
    if name.removesuffix("[]") == "next_cursor":  # well-formed cursors around hostile positions
        hostile |= st.builds(cursor, st.sampled_from(CURSOR_KINDS), st.one_of(scalars(), structured(scalars())))
    return hostile


def value_for(name: str, good: dict[str, tuple]) -> st.SearchStrategy:
    hostile = hostile_for(name)
    known = good.get(name.removesuffix("[]"))
    if not known:
        return hostile
    # a real value half of the time, so the call gets past its first checks
    return st.one_of(st.sampled_from(known), hostile)


def _with_key_form(draw, name: str, value, good: dict[str, tuple]) -> list[tuple]:
    """`name` as ``key`` mostly, as ``key[]``, as both, or repeated (a repeated form field,
    a repeated key inside one JSON object)."""
    form = draw(st.sampled_from(("plain",) * 5 + ("list", "both", "repeated")))
    if form == "list":
        return [(name + "[]", value if isinstance(value, list) else [value])]
    if form == "both":
        return [(name, value), (name + "[]", [draw(value_for(name, good))])]
    if form == "repeated":
        return [(name, value), (name, draw(value_for(name, good)))]
    return [(name, value)]


@st.composite
def parameters(draw, names: tuple[str, ...], good: dict[str, tuple], required: tuple[str, ...] = ()) -> Pairs:
    """A call's parameters: its `required` ones (usually) and some of `names` with real
    values, so the call gets past its first checks, and up to two hostile parameters
    (from `names` or EXTRA_KEYS, in any key form), so each refusal is one parameter's."""
    hostile = draw(st.lists(st.sampled_from(names + EXTRA_KEYS), max_size=2, unique=True))
    chosen = [n for n in required if draw(st.integers(0, 5))]
    chosen += draw(st.lists(st.sampled_from(names), max_size=3, unique=True)) if names else []
    pairs = []
    for name in dict.fromkeys(chosen):
        if name not in hostile:
            real = good.get(name)
            pairs.append((name, draw(st.sampled_from(real)) if real else draw(value_for(name, good))))
    for name in hostile:
        pairs += _with_key_form(draw, name, draw(hostile_for(name)), good)
    return Pairs(tuple(pairs))


def path_segment(good: tuple[str, ...]) -> st.SearchStrategy:
    """A path parameter: a real one, or hostile text (percent-encoded by the caller)."""
    real = st.sampled_from(good)
    return st.one_of(real, real, real, st.sampled_from(("", "\x00", "%", "..", "a/b", "x" * 300, "é", "\\")),
                     st.text(min_size=1, max_size=10))


def header_text() -> st.SearchStrategy:
    """Header values as WSGI carries them (latin-1)."""
    return st.text(st.characters(max_codepoint=255), max_size=30)
