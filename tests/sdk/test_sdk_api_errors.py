"""The Python SDK against the live server on calls we do not have: it reads our answer as
Cloudinary's error JSON (never an HTML page it cannot parse), whatever the method."""

from __future__ import annotations

import cloudinary.api
import cloudinary.exceptions
import pytest
from cloudinary.api_client.call_api import call_api

from assets.models import Folder
from tests.sdk_fixtures import sdk  # noqa: F401 (fixture)

pytestmark = pytest.mark.live


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_an_unknown_call_is_a_not_found_the_sdk_understands(sdk, method):  # noqa: F811
    with pytest.raises(cloudinary.exceptions.NotFound, match=r"Error 404 - Not found: no API call at "
                                                             r"/v1_1/demo/no_such/call"):
        call_api(method, ["no_such", "call"], {"name": "x", "folder": "y"})
    assert not Folder.objects.exists()


def test_a_method_the_call_does_not_take_is_a_405_with_its_message(sdk):  # noqa: F811
    # pycloudinary has no class for 405: it raises its base Exception with our message
    with pytest.raises(Exception, match=r'^Error 405 - Method "DELETE" not allowed\.$'):
        call_api("delete", ["ping"], {})
    assert cloudinary.api.ping() == {"status": "ok"}
