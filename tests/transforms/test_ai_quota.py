"""Bounds on the model runs delivery URLs can start (transforms.ai.quota): option sets
per asset version for unsigned URLs (401 past it, signed URLs unbounded), runs pending
per client and per deployment (429 + Retry-After).  Cheap: the runs are counted as the
cut-out rows queued (the tasks are queued on commit, which these tests never reach), the
model never runs here (tests/transforms/test_background_removal.py runs it in a real worker)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import cloudinary.utils
import pytest
from django.utils import timezone

from tests.conftest import CLOUD, make_image
from transforms.ai import bgremoval
from transforms.models import Cutout

HINTS = sorted(bgremoval.HINTS)


def hint_sets(count: int) -> list[str]:
    """`count` distinct hints_ option sets (single names, then pairs)."""
    sets = [f"hints_({name})" for name in HINTS]
    sets += [f"hints_({a};{b})" for a, b in zip(HINTS, HINTS[1:])]
    return sets[:count]


def url(options: str = "", public_id: str = "quota/pic") -> str:
    effect = f"e_background_removal:{options}" if options else "e_background_removal"
    return f"/{CLOUD}/image/upload/{effect}/{public_id}.png"


def signed_url(secret: str, options: str, public_id: str = "quota/pic") -> str:
    full, _ = cloudinary.utils.cloudinary_url(public_id, cloud_name=CLOUD, sign_url=True, api_secret=secret,
                                              raw_transformation=f"e_background_removal:{options}", format="png")
    return urlsplit(full).path


@pytest.fixture
def pics(upload):
    for name in ("quota/pic", "quota/b", "quota/c", "quota/d"):
        assert upload(make_image(64, 48, "jpg"), public_id=name).status_code == 200


def message_of(response) -> str:
    message = json.loads(response.content)["error"]["message"]
    assert response["X-Cld-Error"] == message
    return message


def test_twenty_anonymous_option_sets_queue_at_most_the_bound(client, pics, api_key, settings):
    settings.DAM_AI_UNSIGNED_OPTION_SETS = 3  # the defaults and two others
    settings.DAM_AI_MAX_PENDING_PER_CLIENT = 10
    statuses = [client.get(url(options)).status_code for options in hint_sets(20)]
    assert statuses[:2] == [423, 423] and statuses[2:] == [401] * 18
    assert Cutout.objects.count() == 2  # two model runs queued, not twenty
    refusal = client.get(url(hint_sets(20)[5]))
    assert "further options need a signed URL" in message_of(refusal) and "at most 3" in message_of(refusal)
    assert client.get(url(hint_sets(20)[0])).status_code == 423  # a set already queued is answered as before

    assert client.get(url()).status_code == 423  # the default options keep their place
    response = client.get(signed_url(api_key.secret, "hints_(dog;person);fineedges_y"))
    assert response.status_code == 423  # a signed URL may ask for any set
    assert sorted(Cutout.objects.values_list("options", flat=True)) == sorted(
        ["", hint_sets(20)[0], hint_sets(20)[1], "hints_(dog;person);fineedges_y"])
    assert client.get(url(hint_sets(20)[7], "quota/b")).status_code == 423  # counted per asset version


def test_pending_runs_are_bounded_per_client_and_per_deployment(client, pics, settings):
    settings.DAM_AI_MAX_PENDING_PER_CLIENT, settings.DAM_AI_MAX_PENDING = 2, 3
    a = {"REMOTE_ADDR": "10.0.0.1"}
    assert client.get(url("", "quota/pic"), **a).status_code == 423
    assert client.get(url("", "quota/b"), **a).status_code == 423
    refused = client.get(url("", "quota/c"), **a)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many background removals queued from 10.0.0.1" in message_of(refused)
    assert client.get(url("", "quota/c"), REMOTE_ADDR="10.0.0.2").status_code == 423  # another client
    refused = client.get(url("", "quota/d"), REMOTE_ADDR="10.0.0.3")
    assert refused.status_code == 429 and message_of(refused) == (
        "Too many background removals queued; try again shortly")
    assert Cutout.objects.count() == 3

    # a finished run frees its place; a pending row older than STALE_AFTER is dead and counts no more
    Cutout.objects.filter(version_id__in=Cutout.objects.values("version_id")[:1]).update(status=Cutout.FAILED)
    assert client.get(url("", "quota/d"), REMOTE_ADDR="10.0.0.3").status_code == 423
    Cutout.objects.filter(status=Cutout.PENDING).update(updated_at=timezone.now() - bgremoval.STALE_AFTER
                                                        - timedelta(seconds=1))
    assert client.get(url("hints_(car)", "quota/d"), **a).status_code == 423


def test_a_stale_run_is_queued_again_only_within_the_bounds(client, pics, settings):
    settings.DAM_AI_MAX_PENDING = 1
    assert client.get(url("", "quota/pic")).status_code == 423
    Cutout.objects.update(updated_at=timezone.now() - bgremoval.STALE_AFTER - timedelta(seconds=1))
    assert client.get(url("", "quota/b")).status_code == 423  # the first is dead: it does not count
    stale = client.get(url("", "quota/pic"))  # would run the dead one again: the deployment is full
    assert stale.status_code == 429
    assert Cutout.objects.filter(status=Cutout.PENDING).count() == 2
