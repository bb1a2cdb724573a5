"""The Image Generation API (Cloudinary's ``/v2/generate/<cloud>/...``): text to image on back-ends
the operator configures.

- ``request.py``: the request body checked into a ``Request`` (model, size, format, target, seed...);
- ``backends.py``: which back-end serves a model (settings) and the OpenAI-compatible call, bounded;
- ``quota.py``: generations per API key per calendar month (``assets.Counter``);
- ``results.py``: a generated image stored as a managed asset (``assets.ingest``) or as a temporary
  one behind a signed, expiring URL;
- ``tasks.py``: the run of one generation (sync in the request, async in a worker), expiry of
  temporaries, the signed webhook (``assets.tasks.enqueue_notification``);
- ``api.py``: the calls themselves (``text_to_image``, ``task_status``), plain Python, used by
  ``views.py`` (HTTP, Basic API-key auth) and by screens;
- ``errors.py``: the API's error JSON.

No placeholder image ever stands in for a generation: without a back-end the call is refused.
"""
