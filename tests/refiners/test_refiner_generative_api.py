"""The Generative AI Refiner's REST API (refiners.generative.views), Admin API auth:
``POST|GET .../refiners/generative/<type>/<public_id>/variations[/<id>]`` and
``GET|PUT|DELETE .../refiners/generative/<type>/<public_id>``.  The answers' shapes, a
status-code table (202, 200, 400 naming the problem, 401, 403 for a viewer's writes, 404,
409 for an asset that changed or a variation not complete, 429 past the bound), distinct
seeds, the prompt written into the variation URLs.  Jobs run with jobs.compute."""

from __future__ import annotations

import pytest
import pyvips

from assets.models import ApiKey, Asset
from refiners.generative import MAX_PER_TRANSFORMATION
from refiners.models import ChosenVariation, VariationBatch
from tests.admin_client import Admin
from tests.conftest import CLOUD
from tests.refiners.test_refiner_generative_delivery import photo, run_pending
from transforms.models import AIResult

T = "ar_16:9,b_gen_fill,c_pad,w_160"
API = "refiners/generative/upload/gen/pic"


@pytest.fixture
def pic(upload, settings, tmp_path):
    settings.DAM_ISNET_MODEL = tmp_path / "absent.onnx"  # the plain local fill, without the subject's matte
    settings.DAM_INPAINT_URL = settings.DAM_IMAGE_EDIT_URL = ""
    settings.DAM_INPAINT_PROMPTS = False
    assert upload(photo(), name="pic.png", public_id="gen/pic").status_code == 200
    return Asset.objects.get(public_id="gen/pic")


@pytest.fixture
def admin(client, api_key):
    return Admin(client, api_key)


def test_generate_poll_choose_list_drop(admin, pic):
    made = admin.post(API + "/variations", {"transformation": T, "count": 3})
    assert made.status_code == 202, made.content
    assert set(made.json()) == {"id", "status"} and made.json()["status"] == "pending"
    batch_id = made.json()["id"]
    assert len(batch_id) == 16 and int(batch_id, 16) >= 0
    polled = admin.get(f"{API}/variations/{batch_id}").json()
    assert polled["id"] == batch_id and polled["status"] == "pending"
    assert [v["status"] for v in polled["variations"]] == ["pending"] * 3
    assert len({v["seed"] for v in polled["variations"]}) == 3  # distinct seeds
    run_pending()
    done = admin.get(f"{API}/variations/{batch_id}").json()
    assert done["status"] == "complete"
    for item in done["variations"]:
        assert item["id"] == str(AIResult.objects.get(spec__seed=item["seed"]).pk)
        assert item["url"] == (f"http://testserver/{CLOUD}/image/upload/ar_16:9,b_gen_fill:seed_{item['seed']},"
                               f"c_pad,w_160/v{pic.version}/gen/pic.png")
    pick = done["variations"][1]
    chosen = admin.put(API, {"transformation": T, "variation": pick["id"]})
    assert chosen.status_code == 200, chosen.content
    assert chosen.json()["variation"] == pick["id"] and chosen.json()["seed"] == pick["seed"]
    listed = admin.get(API).json()
    assert listed == {"chosen": [{"transformation": T, "variation": pick["id"], "seed": pick["seed"], "prompt": "",
                                  "url": f"http://testserver/{CLOUD}/image/upload/{T}/v{pic.version}/gen/pic.png"}]}
    # choosing another one replaces the choice for the same text
    assert admin.put(API, {"transformation": T, "variation": done["variations"][2]["id"]}).status_code == 200
    assert [c["variation"] for c in admin.get(API).json()["chosen"]] == [done["variations"][2]["id"]]
    dropped = admin.delete(API, {"transformation": T})
    assert dropped.status_code == 200 and dropped.json() == {"chosen": []}


def test_a_prompt_is_refused_without_a_prompt_backend_and_written_into_the_urls_with_one(admin, pic, settings):
    refused = admin.post(API + "/variations", {"transformation": T, "count": 1, "prompt": "picnic lunch"})
    assert refused.status_code == 400
    assert "DAM_IMAGE_EDIT_URL" in refused.json()["error"]["message"]
    settings.DAM_IMAGE_EDIT_URL = "http://127.0.0.1:9/v1/images/edits"  # configured; not called by this test
    made = admin.post(API + "/variations", {"transformation": T, "count": 2, "prompt": "picnic  lunch"})
    assert made.status_code == 202, made.content
    items = admin.get(f"{API}/variations/{made.json()['id']}").json()["variations"]
    assert [i["prompt"] for i in items] == ["picnic lunch"] * 2
    assert all(f"b_gen_fill:seed_{i['seed']};prompt_picnic%20lunch,c_pad" in i["url"] for i in items)
    bad = admin.post(API + "/variations", {"transformation": T, "count": 1, "prompt": "fork, knife"})
    assert bad.status_code == 400 and "','" in bad.json()["error"]["message"]


def test_the_bound_per_transformation(admin, pic):
    for _ in range(MAX_PER_TRANSFORMATION // 8):
        assert admin.post(API + "/variations", {"transformation": T, "count": 8}).status_code == 202
    over = admin.post(API + "/variations", {"transformation": T, "count": 1})
    assert over.status_code == 429
    assert f"At most {MAX_PER_TRANSFORMATION}" in over.json()["error"]["message"]
    other = admin.post(API + "/variations", {"transformation": T + "/e_grayscale", "count": 1})
    assert other.status_code == 202  # another text has its own bound


BAD_POSTS = [
    ({"count": 2}, "transformation"),
    ({"transformation": "c_fill,w_50", "count": 2}, "no generative step"),
    ({"transformation": T, "count": 0}, "count"),
    ({"transformation": T, "count": 9}, "count"),
    ({"transformation": T, "count": "many"}, "count"),
    ({"transformation": T, "count": True}, "count"),
    ({"transformation": "$w_160/ar_16:9,b_gen_fill,c_pad,w_$w", "count": 1}, "variables"),
    ({"transformation": "ar_16:9,b_gen_fill:seed_x,c_pad,w_160", "count": 1}, "seed"),
    ({"transformation": "e_gen_restore", "count": 1}, "no variations to choose from"),
]


@pytest.mark.parametrize("body, words", BAD_POSTS, ids=[w for _, w in BAD_POSTS])
def test_bad_posts_are_400_naming_the_problem(admin, pic, body, words):
    response = admin.post(API + "/variations", body)
    assert response.status_code == 400, response.content
    assert words in response.json()["error"]["message"]
    assert not VariationBatch.objects.exists() and not AIResult.objects.exists()


def test_a_transparent_original_is_400(admin, upload):
    rgba = pyvips.Image.black(60, 40, bands=4).cast("uchar")  # fully transparent
    assert upload(rgba.pngsave_buffer(), name="clear.png", public_id="gen/clear").status_code == 200
    response = admin.post("refiners/generative/upload/gen/clear/variations", {"transformation": T, "count": 1})
    assert response.status_code == 400 and "transparency" in response.json()["error"]["message"]


def test_status_codes(client, admin, pic, upload):
    viewer = Admin(client, ApiKey.objects.create(name="viewer", role="viewer"))
    batch = admin.post(API + "/variations", {"transformation": T, "count": 2}).json()["id"]
    pending = AIResult.objects.order_by("pk").first()
    table = {
        "no auth POST": client.post(f"/v1_1/{CLOUD}/{API}/variations", "{}",
                                    content_type="application/json").status_code,
        "no auth GET": client.get(f"/v1_1/{CLOUD}/{API}").status_code,
        "viewer GET batch": viewer.get(f"{API}/variations/{batch}").status_code,
        "viewer GET chosen": viewer.get(API).status_code,
        "viewer POST": viewer.post(API + "/variations", {"transformation": T, "count": 1}).status_code,
        "viewer PUT": viewer.put(API, {"transformation": T, "variation": str(pending.pk)}).status_code,
        "viewer DELETE": viewer.delete(API, {"transformation": T}).status_code,
        "unknown asset": admin.get("refiners/generative/upload/gen/nothing").status_code,
        "unknown batch": admin.get(f"{API}/variations/0123456789abcdef").status_code,
        "unknown variation": admin.put(API, {"transformation": T, "variation": "999999"}).status_code,
        "bad variation": admin.put(API, {"transformation": T, "variation": "x"}).status_code,
        "pending variation": admin.put(API, {"transformation": T, "variation": str(pending.pk)}).status_code,
        "another text's variation": admin.put(API, {"transformation": "ar_4:3,b_gen_fill,c_pad,w_160",
                                                    "variation": str(pending.pk)}).status_code,
        "drop without a choice": admin.delete(API, {"transformation": T}).status_code,
    }
    assert table == {"no auth POST": 401, "no auth GET": 401, "viewer GET batch": 200, "viewer GET chosen": 200,
                     "viewer POST": 403, "viewer PUT": 403, "viewer DELETE": 403, "unknown asset": 404,
                     "unknown batch": 404, "unknown variation": 404, "bad variation": 400,
                     "pending variation": 409, "another text's variation": 400, "drop without a choice": 404}
    run_pending()
    # the original overwritten meanwhile (its receivers not run yet): the variation is of an old version
    assert upload(photo(flip=True), name="pic.png", public_id="gen/pic", overwrite="true").status_code == 200
    stale = admin.put(API, {"transformation": T, "variation": str(pending.pk)})
    assert stale.status_code == 409 and "changed" in stale.json()["error"]["message"]
    assert not ChosenVariation.objects.exists()


def test_polling_queues_a_lost_variation_again(admin, pic):
    from datetime import timedelta

    from django.utils import timezone

    batch = admin.post(API + "/variations", {"transformation": T, "count": 1}).json()["id"]
    row = AIResult.objects.get()
    long_ago = timezone.now() - timedelta(days=1)
    AIResult.objects.filter(pk=row.pk).update(updated_at=long_ago, requested_at=long_ago)  # its message was lost
    assert admin.get(f"{API}/variations/{batch}").json()["status"] == "pending"
    row.refresh_from_db()
    assert row.status == AIResult.PENDING and row.requested_at > long_ago + timedelta(hours=23)
    run_pending()
    assert admin.get(f"{API}/variations/{batch}").json()["status"] == "complete"
