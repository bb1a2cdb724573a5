"""Work the asset layer triggers but does not do itself.

The asset layer (models, ingest, the Upload and Admin APIs) sits below the engine, the
refiners and the Studio, and never imports them (pyproject's import-linter contracts
hold it to that).  Where an Admin or Upload API call must reach up (list or delete an
asset's derived renderings, start the legacy background-removal add-on), it calls a hook
that the higher layer provides in its ``AppConfig.ready()``:

- ``renderings``: the engine's derived renderings in the Admin API's shapes
  (transforms.derived_api): ``derived_for_asset(asset, request)``,
  ``count_for_asset(asset)``, ``existing_ids(ids)``, ``delete_derived(ids)``,
  ``delete_derived_for_asset(asset)``, ``delete_derived_by_transformation(asset, texts)``,
  ``derived_totals()``.
- ``background_removal``: the legacy ``background_removal=cloudinary_ai[...]`` add-on of
  an upload or an update (transforms.ai.legacy): ``check(value)`` before anything is
  stored, ``request(asset, value, notification_url, api_key)`` once the asset is.
- ``eager``: an upload's eager transformations, given as Cloudinary text
  (transforms.cloudinary.eager): ``check(sent, text, fmt)`` before anything is stored,
  ``render(asset, text, fmt)`` -> the derived row, its AI result computed first.
- ``faces``: face detection (transforms.ai.faces): ``ensure(asset)`` -> the faces of the
  asset's current version, detected and stored now unless known (``faces=true`` on
  upload or explicit), ``request(asset)`` queues detection in the worker after a commit.
- ``breakpoints``: responsive breakpoints of an upload or explicit
  (transforms.cloudinary.breakpoints): ``check(raw)`` before anything is stored,
  ``compute(asset, raw, request)`` -> the answer's ``responsive_breakpoints`` list.
- ``compose``: images made for the Upload API's ``text``, ``multi`` and ``sprite``
  (transforms.cloudinary.compose): ``text_image(text, params)``, ``frames(assets,
  transformation)``, ``animation(images, fmt)``, ``sprite(images, fmt)``.
- ``refiners``: the refiners' revisions on an asset, for the Admin API's resource
  details (refiners.base): ``revisions(asset)`` -> ``{name: {"revision": n}}``.

A hook is looked up when it is called (a dictionary read), so the order in which apps
become ready does not matter.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

NAMES = frozenset({"renderings", "background_removal", "eager", "refiners", "faces", "breakpoints", "compose"})
_provided: dict[str, object] = {}


def provide(name: str, implementation) -> None:
    """Register `implementation` (any object with the hook's functions) for `name`."""
    if name not in NAMES:
        raise ValueError(f"unknown hook {name!r}: one of {', '.join(sorted(NAMES))}")
    _provided[name] = implementation


def hook(name: str):
    """The implementation a higher layer provided for `name`."""
    try:
        return _provided[name]
    except KeyError:
        raise ImproperlyConfigured(f"nothing provides the {name!r} hook: is its app in INSTALLED_APPS?") from None
