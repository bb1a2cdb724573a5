"""The Admin API lists and deletes derived images, driven by the official SDK."""

import cloudinary.api
import cloudinary.utils
import requests

from tests.conftest import make_image
from tests.sdk_fixtures import sdk  # noqa: F401  (fixture)


def _render(transformation: str, fmt: str = "jpg") -> None:
    url = cloudinary.utils.cloudinary_url("derived/one", raw_transformation=transformation, format=fmt)[0]
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.headers.get("X-Cld-Error")


def _transformations() -> list[tuple[str, str]]:
    return sorted((d["transformation"], d["format"]) for d in cloudinary.api.resource("derived/one")["derived"])


def test_list_and_delete_derived_by_id_and_by_transformation(sdk):  # noqa: F811
    sdk.upload(make_image(120, 90), public_id="derived/one")
    _render("c_fill,h_40,w_40")
    _render("e_grayscale,w_50")
    _render("w_50,e_grayscale", "png")  # same transformation in another order and format
    assert _transformations() == [("c_fill,h_40,w_40", "jpg"), ("e_grayscale,w_50", "jpg"),
                                  ("e_grayscale,w_50", "png")]

    # by transformation, any parameter order, optionally with a format; the original stays
    result = cloudinary.api.delete_derived_by_transformation(["derived/one"], ["w_50,e_grayscale/png"])
    assert result["deleted"] == {"derived/one": "deleted"}
    assert result["deleted_counts"]["derived/one"] == {"original": 0, "derived": 1}
    assert _transformations() == [("c_fill,h_40,w_40", "jpg"), ("e_grayscale,w_50", "jpg")]

    # by derived id
    ids = {d["transformation"]: d["id"] for d in cloudinary.api.resource("derived/one")["derived"]}
    result = cloudinary.api.delete_derived_resources([ids["c_fill,h_40,w_40"], "nope"])
    assert result["deleted"] == {ids["c_fill,h_40,w_40"]: "deleted", "nope": "not_found"}
    assert _transformations() == [("e_grayscale,w_50", "jpg")]
    assert cloudinary.api.resource("derived/one")["public_id"] == "derived/one"

    # a deleted rendering is simply rendered again on the next request
    _render("c_fill,h_40,w_40")
    assert len(_transformations()) == 2
