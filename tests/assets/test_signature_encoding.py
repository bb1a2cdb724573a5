"""One encoding of ``&`` in signed Upload API parameters (issue 10, item 10).

The current SDKs (Python ``cloudinary`` 1.4x, Node ``cloudinary`` 2.x: ``signature_version``
2) escape ``&`` inside a signed value as ``%26``.  That encoding verifies; the raw one
(signature_version 1) does not, or a value holding ``&k=v`` could be read back as a
second parameter the signer never signed.
"""

from __future__ import annotations

import io
import time

import cloudinary.exceptions
import cloudinary.uploader
import cloudinary.utils
import pytest

from assets import signing
from assets.models import Asset
from tests.conftest import CLOUD, make_image
from tests.sdk_fixtures import sdk  # noqa: F401 (fixture)


def _stream():
    stream = io.BytesIO(make_image(24, 16))
    stream.name = "amp.jpg"
    return stream


def test_server_string_to_sign_is_the_sdks():
    params = {"context": "caption=salt & pepper", "tags": ["a&b", "c"], "timestamp": 1700000000}
    assert signing.string_to_sign(params) == cloudinary.utils.api_string_to_sign(
        {**params, "tags": "a&b,c"}, signature_version=2)


def test_a_value_with_an_ampersand_signs_and_verifies_with_the_sdk(sdk):  # noqa: F811
    result = cloudinary.uploader.upload(_stream(), public_id="amp/ok", context={"caption": "salt & pepper"},
                                        tags=["r&d"])
    assert result["context"] == {"custom": {"caption": "salt & pepper"}} and result["tags"] == ["r&d"]
    assert Asset.objects.get(public_id="amp/ok").context == {"caption": "salt & pepper"}


def test_the_raw_encoding_is_refused(sdk):  # noqa: F811
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Invalid Signature"):
        cloudinary.uploader.upload(_stream(), public_id="amp/raw", context={"caption": "salt & pepper"},
                                   signature_version=1)
    assert not Asset.objects.exists()
    # without an ampersand both encodings are one string: version 1 clients keep working
    assert cloudinary.uploader.upload(_stream(), public_id="amp/plain", signature_version=1)["public_id"] \
        == "amp/plain"


@pytest.mark.django_db
def test_a_smuggled_parameter_does_not_verify(client, api_key):
    timestamp = str(int(time.time()))
    # signed for public_id=a and tags=b ...
    signature = cloudinary.utils.api_sign_request({"public_id": "a", "tags": "b", "timestamp": timestamp},
                                                  api_key.secret)
    # ... sent as one public_id whose raw form reads the same
    image = io.BytesIO(make_image(8, 8))
    image.name = "x.jpg"
    response = client.post(f"/v1_1/{CLOUD}/image/upload", {
        "file": image, "public_id": "a&tags=b", "timestamp": timestamp, "api_key": api_key.key,
        "signature": signature})
    assert response.status_code == 401
    assert "Invalid Signature" in response.json()["error"]["message"]
    assert not Asset.objects.exists()
