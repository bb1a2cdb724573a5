"""Named transformations (``t_<name>``), strict transformations, and the log of
delivered dynamic transformations.

The engine calls, in this order, for every delivery request:

- ``expand(components)`` on the raw components: inlines every ``t_<name>`` (also
  ``t_a.b`` chains, and named transformations inside definitions, recursively) and
  returns the inlined components with the names used (nested ones included, in
  first-use order), which the engine stores on DerivedImage.named as ``|a|b|``.
- ``check_strict(text, names, signed)``: in strict mode, an unsigned URL must be made
  only of named transformations allowed for strict (or be a dynamic transformation
  explicitly allowed with ``allowed_for_strict``); otherwise 401.
- ``record_dynamic(text)`` when it renders a derived image for the first time (a
  delivery request calls ``record_dynamic_after_response(text)``: the row is written
  once the answer has been sent, see below).

A ``t_`` parameter may share its component with other parameters, as the SDKs write
``transformation="x", width=100`` (``t_x,w_100``): the named components come first, then
the others as one more component; ``$variable`` assignments of that component go before
the named ones (so the definition can use them) and an ``if_`` condition of that
component wraps all of it in a condition block.

Definitions are stored as written (after validation) and expanded at delivery time,
so updating an inner named transformation changes every outer one; updating or
deleting one removes every derived image whose ``named`` field lists it.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import IntegrityError, transaction

from core.errors import BadRequest, Conflict, NotFound, Unauthorized
from core.process import at_exit

from .. import rows
from ..derived import forget
from ..models import DerivedImage
from ..models_named import RuntimeSetting, Transformation, transformation_key
from . import parser
from .build import validate
from .parser import split_component
from .route import is_delivery

log = logging.getLogger(__name__)

NAME_MAX_LENGTH = 1024
# Cloudinary forbids \ / ? & # % . , < > in names; `|` separates eager transformations
# and the names stored on DerivedImage.named, so it is refused too.
FORBIDDEN_NAME_CHARACTERS = frozenset("\\/?&#%.,<>|")
MAX_DEPTH = 10  # named transformations inside named transformations
MAX_COMPONENTS = 100  # after expansion
STRICT_SETTING = "strict_transformations"


# --- names and definitions -------------------------------------------------------------


def check_name(name) -> str:
    """The name if it follows Cloudinary's rules, else BadRequest."""
    if not isinstance(name, str) or not name:
        raise BadRequest("Missing required parameter - name")
    if len(name) > NAME_MAX_LENGTH:
        raise BadRequest(f"Invalid transformation name: longer than {NAME_MAX_LENGTH} characters")
    bad = sorted({ch for ch in name if ch in FORBIDDEN_NAME_CHARACTERS or ord(ch) < 32 or ord(ch) == 127})
    if bad:
        shown = " ".join(repr(ch)[1:-1] for ch in bad)
        raise BadRequest(f"Invalid transformation name {name!r}: it must not contain {shown}")
    if name != name.strip():
        raise BadRequest(f"Invalid transformation name {name!r}: leading or trailing spaces")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("Invalid transformation name: not valid UTF-8") from None
    return name


def split_text(text: str) -> list[str]:
    """Components of a transformation string; a trailing ``/`` (eager "no extension") is dropped."""
    text = (text or "").strip()
    if not text:
        return []
    parts = text.split("/")
    if parts and parts[-1] == "":
        parts.pop()
    if any(part == "" for part in parts):
        raise BadRequest(f"Invalid transformation {text!r}: empty component")
    return parts


def _reference(token: str) -> list[str] | None:
    """``t_a.b`` -> ["a", "b"]; None when the token is not a t_ parameter."""
    if not token.startswith("t_"):
        return None
    names = token[2:].split(".")
    if any(not n for n in names):
        raise BadRequest(f"Invalid named transformation reference: {token}")
    return names


def references(text: str) -> list[str]:
    """The names referenced directly (not nested) by a transformation string."""
    found: list[str] = []
    for component in split_text(text):
        for token in component.split(","):
            for name in _reference(token) or ():
                if name not in found:
                    found.append(name)
    return found


def canonical(text: str) -> str:
    """The canonical spelling of a transformation string (parameter order inside a
    component fixed, transforms.cloudinary.parser.canonical) when it can be read; as
    written otherwise."""
    components = split_text(text)
    try:
        return parser.canonical("/".join(components))
    except BadRequest:
        return "/".join(components)


def check_components(components) -> None:
    """Every parameter of every component known and supported."""
    for component in components:
        split_component(component)


def validate_text(text: str, name: str | None = None) -> list[str]:
    """Validate a transformation string (parameters, named references, no cycle back to
    ``name``, and the engine's plan validation when it exists); returns it expanded."""
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("Missing required parameter - transformation")
    components = split_text(text)
    check_components(components)
    expanded, _ = expand(components, _stack=(name,) if name else ())
    validate("/".join(expanded))
    return expanded


def validate_definition(text: str, name: str | None = None) -> str:
    """Check a definition (see validate_text); returns the text to store."""
    validate_text(text, name)
    return "/".join(split_text(text))


# --- expansion ---------------------------------------------------------------------------


def _definitions(names, cache: dict) -> None:
    missing = [n for n in names if n not in cache]
    if missing:
        rows = Transformation.objects.filter(key__in=[transformation_key(True, n) for n in missing])
        for row in rows:
            cache[row.name] = row.text
        for name in missing:
            if name not in cache:
                raise BadRequest(f"Unknown named transformation: {name}")


def expand(components, _stack: tuple = ()) -> tuple[list[str], tuple[str, ...]]:
    """Inline every ``t_`` reference; returns (components, names used).  BadRequest for an
    unknown name, a cycle, nesting deeper than MAX_DEPTH or more than MAX_COMPONENTS."""
    used: list[str] = []
    out = _expand(list(components), tuple(s for s in _stack if s), {}, used)
    return out, tuple(used)


def _expand(components: list[str], stack: tuple, cache: dict, used: list[str]) -> list[str]:
    out: list[str] = []
    for component in components:
        tokens = component.split(",")
        refs = [(t, _reference(t)) for t in tokens]
        named = [(t, names) for t, names in refs if names is not None]
        if not named:
            out.append(component)
            continue
        if len(named) > 1:
            raise BadRequest(f"Invalid transformation component {component}: more than one t_ parameter")
        names = named[0][1]
        others = [t for t in tokens if t != named[0][0]]
        condition = [t for t in others if t.startswith("if_")]
        if any(t in ("if_else", "if_end") for t in condition):
            raise BadRequest(f"Invalid transformation component {component}: t_ with {condition[0]}")
        variables = [t for t in others if t.startswith("$")]
        rest = [t for t in others if t not in condition and t not in variables]
        inner: list[str] = [",".join(variables)] if variables else []
        for name in names:
            if name in stack:
                raise BadRequest(f"Named transformation {name} refers to itself (via {' -> '.join(stack)})")
            if len(stack) >= MAX_DEPTH:
                raise BadRequest(f"Named transformations nested deeper than {MAX_DEPTH} levels: {name}")
            _definitions([name], cache)
            if name not in used:
                used.append(name)
            inner += _expand(split_text(cache[name]), stack + (name,), cache, used)
        if rest:
            inner.append(",".join(rest))
        out += [",".join(condition), *inner, "if_end"] if condition else inner
        if len(out) > MAX_COMPONENTS:
            raise BadRequest(f"Transformation too long: more than {MAX_COMPONENTS} components after "
                             "expanding named transformations")
    if len(out) > MAX_COMPONENTS:
        raise BadRequest(f"Transformation too long: more than {MAX_COMPONENTS} components")
    return out


# --- strict transformations -----------------------------------------------------------------


def strict_enabled() -> bool:
    """A RuntimeSetting row wins over settings.DAM_STRICT_TRANSFORMATIONS (default off).
    Read before every first render: one row by its unique name, SQL compiled once."""
    row = rows.get(RuntimeSetting, name=STRICT_SETTING)
    if row is not None and row.value is not None:
        return bool(row.value)
    return bool(settings.DAM_STRICT_TRANSFORMATIONS)


def set_strict(enabled: bool | None) -> None:
    """Turn strict transformations on or off at runtime; None goes back to the Django setting."""
    if enabled is None:
        RuntimeSetting.objects.filter(name=STRICT_SETTING).delete()
    else:
        RuntimeSetting.objects.update_or_create(name=STRICT_SETTING, defaults={"value": bool(enabled)})


def check_strict(transformation_text: str, used_names=(), signed: bool = False) -> None:
    """401 when strict mode is on and an unsigned URL asks for a transformation that is
    neither made only of named transformations allowed for strict nor an allowed
    dynamic transformation.  Originals (no transformation) are always allowed."""
    if signed or not transformation_text or not strict_enabled():
        return
    components = split_text(transformation_text)
    allowed_dynamic = Transformation.objects.filter(
        key=transformation_key(False, canonical(transformation_text)), allowed_for_strict=True).exists()
    if allowed_dynamic:
        return
    names: list[str] = []
    for component in components:
        tokens = component.split(",")
        if len(tokens) != 1 or _reference(tokens[0]) is None:
            raise Unauthorized(f"Transformation {transformation_text} is not allowed")
        names += _reference(tokens[0])
    allowed = set(Transformation.objects.filter(
        key__in=[transformation_key(True, n) for n in names], allowed_for_strict=True).values_list("name", flat=True))
    for name in names:
        if name not in allowed:
            raise Unauthorized(f"Transformation t_{name} is not allowed")


# --- the log of delivered transformations ---------------------------------------------------------


def record_dynamic(transformation_text: str) -> None:
    """Note that a transformation was delivered: a dynamic one gets (or keeps) its row in
    the log (``named=False``), named ones it references are marked used.  Never raises."""
    try:
        components = split_text(transformation_text)
        if not components:
            return
        names = references(transformation_text)
        if names:
            Transformation.objects.filter(key__in=[transformation_key(True, n) for n in names],
                                          used=False).update(used=True)
        only_named = all(len(c.split(",")) == 1 and c.startswith("t_") for c in components)
        if only_named:
            return
        text = canonical(transformation_text)
        key = transformation_key(False, text)
        if Transformation.objects.filter(key=key, used=True).exists():
            return
        try:
            with transaction.atomic():
                Transformation.objects.get_or_create(key=key, defaults=dict(named=False, name=text, text=text,
                                                                            used=True))
        except IntegrityError:
            pass  # another request logged it first
        Transformation.objects.filter(key=key, used=False).update(used=True)
    except Exception:  # the log must never break a delivery
        log.exception("could not record the delivered transformation %r", transformation_text)


# A first render's answer does not wait for its log row: the delivery queues the text
# (record_dynamic_after_response) and the row is written when the response is closed,
# i.e. after the server has sent it (Django's request_finished, sent by the response's
# close(), which WSGI servers call after the body, also on a graceful shutdown).
# Within the process, every request that is not a delivery (the Admin API's
# GET /transformations, the Studio) first writes what is queued, waiting for a write in
# progress, so a listing made after an answer arrived always shows it; an exit flushes
# what is left (core.process.at_exit).  Another process may list it a few milliseconds later.

_pending: dict[str, None] = {}  # texts waiting for their row, in order (a set that keeps order)
_pending_lock = threading.Lock()
_flush_lock = threading.Lock()  # held while queued texts are written


def record_dynamic_after_response(transformation_text: str) -> None:
    """record_dynamic(`transformation_text`) once the current response has been sent."""
    with _pending_lock:
        _pending[transformation_text] = None


def flush_log() -> int:
    """Write every queued log entry now (waiting for a flush in progress); returns how many."""
    with _flush_lock:
        with _pending_lock:
            texts = list(_pending)
            _pending.clear()
        for text in texts:
            record_dynamic(text)
        return len(texts)


def record_stored(sender=None, transformation: str = "", after_response: bool = False, **kwargs) -> None:
    """transforms.derived.first_render_stored: a first render of `transformation` was stored; log it
    (after the response when a delivery's answer is still being sent)."""
    if after_response:
        record_dynamic_after_response(transformation)
    else:
        record_dynamic(transformation)


def _flush_after_response(sender=None, **kwargs) -> None:
    if _pending:
        flush_log()  # the connection stays open until the next request_started checks it


def _flush_before_request(sender=None, environ=None, **kwargs) -> None:
    if _pending or _flush_lock.locked():
        path = (environ or {}).get("PATH_INFO", "")
        if not is_delivery(path[1:]):  # deliveries never read the log: they do not wait
            flush_log()


request_finished.connect(_flush_after_response, dispatch_uid="transforms.named.flush_after_response")
request_started.connect(_flush_before_request, dispatch_uid="transforms.named.flush_before_request")
at_exit(flush_log)  # atexit, or a granian worker's multiprocessing finalizers


# --- lookups and changes (the Admin API and the Studio) -------------------------------------------


def find(identifier: str) -> Transformation:
    """A named transformation by name (or ``t_<name>``), else a dynamic one by its text."""
    if not identifier:
        raise BadRequest("Missing required parameter - transformation")
    identifier = identifier.strip()
    candidates = [transformation_key(True, identifier)]
    if identifier.startswith("t_") and "/" not in identifier and "," not in identifier:
        candidates.append(transformation_key(True, identifier[2:]))
    rows = {row.key: row for row in Transformation.objects.filter(key__in=candidates)}
    for key in candidates:
        if key in rows:
            return rows[key]
    try:
        text = canonical(identifier)
    except BadRequest:
        text = identifier
    row = Transformation.objects.filter(key=transformation_key(False, text)).first()
    if row is None:
        raise NotFound(f"Transformation {identifier} not found")
    return row


def create(name, definition, allowed_for_strict: bool = True) -> Transformation:
    name = check_name(name)
    text = validate_definition(definition, name)
    try:
        with transaction.atomic():
            return Transformation.objects.create(named=True, name=name, text=text,
                                                 allowed_for_strict=allowed_for_strict)
    except IntegrityError:
        raise Conflict(f"Transformation {name} already exists") from None


def update(row: Transformation, *, definition: str | None = None, allowed_for_strict: bool | None = None) -> int:
    """Change a transformation; a new definition removes the derived images built with it.
    Returns how many derived images were removed."""
    removed = 0
    with transaction.atomic():
        if definition is not None:
            if not row.named:
                raise BadRequest("Only a named transformation's definition can be updated")
            row.text = validate_definition(definition, row.name)
        if allowed_for_strict is not None:
            row.allowed_for_strict = allowed_for_strict
        row.save()
        if definition is not None:
            removed = invalidate(row.name)
    return removed


def delete(row: Transformation) -> int:
    """Delete a transformation and the derived images built with it; returns how many."""
    with transaction.atomic():
        removed = invalidate(row.name) if row.named else _forget_derived(transformation=row.text)
        row.delete()
    return removed


def derived_queryset(row: Transformation):
    if row.named:
        if not _has_named_field():
            return DerivedImage.objects.none()
        return DerivedImage.objects.filter(named__contains=f"|{row.name}|")
    return DerivedImage.objects.filter(transformation=row.text)


def invalidate(name: str) -> int:
    """Remove every derived image built with named transformation ``name`` (files go on commit)."""
    if not _has_named_field():
        return 0
    return _forget_derived(named__contains=f"|{name}|")


def _forget_derived(**lookup) -> int:
    return forget(DerivedImage.objects.filter(**lookup))


def _has_named_field() -> bool:
    return any(f.name == "named" for f in DerivedImage._meta.get_fields())
