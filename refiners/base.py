"""The refiner protocol and registry: refiners hold data, the engine does pixels.

A refiner is a subpackage of `refiners/` whose `Refiner` subclass is registered here
(at import; refiners.apps imports every refiner at ready).  It implements:

- `payload`: the request parameter holding what `save` stores (e.g. "strokes"), or a
  tuple of body fields (e.g. ("faces", "custom", "regions")): `save` then gets a dict
  of those given (a refiner whose data is several kinds, each optional);
- `validate(payload)`: the payload (e.g. a stroke list) checked and normalised, 400 otherwise;
- `save(asset, payload, base_revision=None, user=None)`: a new revision (409 when
  `base_revision` is not the current one), invalidating the renders it changes;
- `empty()`: the payload that clears everything (what REST DELETE saves);
- `current(asset)`: the current revision or None; `as_dict(revision, asset)` its API body;
  `revision(asset)`: the current revision's number (0: none; the Admin API's resource
  details list it, through `revisions` and the ``refiners`` hook of assets.hooks);
- `override(asset, plan)`: what it contributes to a render of `plan` (a
  transforms.overrides.Override the engine applies), or None;
- `dependency(asset, kind)`: its part of the derived-cache key of plans starting from a
  stored AI result of `kind` ("" when it has nothing);
- `screen`: the URL name of its Studio screen.

The REST API is generic (refiners.views: ``/v1_1/<cloud>/refiners/<name>/<type>/<public_id>``),
and `install` hands the registry to the engine as its one overrides provider
(transforms.overrides), so a delivery asks the refiners once per render.
"""

from __future__ import annotations

from transforms import overrides

REFINERS: dict[str, Refiner] = {}


class Refiner:
    name = ""  # the URL segment of its API
    payload: str | tuple[str, ...] = ""  # the parameter holding what `save` stores, or several (a dict)
    screen = ""  # the URL name of its Studio screen

    def validate(self, payload):
        raise NotImplementedError

    def save(self, asset, payload, *, base_revision=None, user=None):
        raise NotImplementedError

    def empty(self):
        return []

    def current(self, asset):
        raise NotImplementedError

    def as_dict(self, revision, asset) -> dict:
        raise NotImplementedError

    def revision(self, asset) -> int:
        raise NotImplementedError

    def override(self, asset, plan) -> overrides.Override | None:
        return None

    def dependency(self, asset, kind: str) -> str:
        return ""


def register(refiner: Refiner) -> Refiner:
    if refiner.name in REFINERS:
        raise RuntimeError(f"refiner {refiner.name!r} registered twice")
    REFINERS[refiner.name] = refiner
    return refiner


def get(name: str) -> Refiner | None:
    return REFINERS.get(name)


def for_plan(asset, plan) -> list[overrides.Override]:
    found = (r.override(asset, plan) for r in REFINERS.values())
    return [o for o in found if o is not None]


def dependency(asset, kind: str) -> str:
    return "".join(r.dependency(asset, kind) for r in REFINERS.values())


def revisions(asset) -> dict[str, dict]:
    """``{name: {"revision": n}}`` for each refiner with a revision on the asset's current version."""
    found = ((name, r.revision(asset)) for name, r in REFINERS.items())
    return {name: {"revision": n} for name, n in found if n}


PROVIDER = overrides.Provider(for_plan, dependency)


def install() -> None:
    overrides.install(PROVIDER)
