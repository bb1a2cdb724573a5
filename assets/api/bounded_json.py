"""The API's name for assets.bounded_json (bounded JSON from clients): the module moved a
layer down so that assets.focus, which the API calls, can read JSON without importing
the API back (an import cycle the acyclic_siblings contract refuses)."""

from ..bounded_json import MAX_DEPTH, BoundedJSONParser, loads

__all__ = ["MAX_DEPTH", "BoundedJSONParser", "loads"]
