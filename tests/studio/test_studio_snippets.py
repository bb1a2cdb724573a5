"""The Studio's code to copy, run for real with hostile public_ids, text layers and keys.

Each snippet is taken from the rendered page (as a user would copy it) and run:
- cURL through ``bash -c`` with a stand-in ``curl`` first on PATH that records its argv:
  the argv must be exactly ``-o <file> <delivery URL>`` and that URL must deliver;
- Python in a fresh interpreter with the real cloudinary SDK: the URL it builds must
  deliver the same image (so its signature verifies);
- Node with ``node``, ``require("cloudinary")`` answered by a stand-in that records the
  arguments of ``cloudinary.url``: they must be exactly the values the Studio meant.
Every run happens in an empty directory with HOME pointing at another one; nothing
may appear in either (the payloads try to ``touch`` files there).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
from html import unescape
from urllib.parse import urlsplit

import pytest
import pyvips

from assets.models import Asset
from studio import chain as chains
from studio import links, palette, snippets
from tests.conftest import make_image
from tests.studio_fixtures import login, users  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

PUBLIC_IDS = [
    "cmd/banner;touch pwned1;x",
    "cmd/$(touch pwned2)",
    "cmd/`touch pwned3`",
    "cmd/a$IFS;touch${IFS}pwned4",
    "cmd/x|touch pwned5 ;:!",
    "cmd/line\u2028sep\u2029end ü",  # JavaScript line terminators before ES2019
    "cmd/-rf *",
]
TEXTS = [
    "a';touch$IFS$HOME%2Fx;'",
    '";require(`child_process`).execSync(`touch pwned6`);"',
    "$(touch pwned7) `touch pwned8`",
    "x%0A__import__('os').system('touch pwned9')%0A",  # a newline in the text
    "%3C%2Ftextarea%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E \\' \\\" %25",
]
# Raw steps the Studio keeps as they are: their keys become object keys in the snippets.
RAW = [
    "l_text:Arial_20:a';touch$IFS$HOME/x;'",  # the issue's link: its "/" ends the text, "x;'" is a raw step
    "y:require(`child_process`).execSync(`touch pwned10`)?z_1",
    "$x:(()=>{require(`fs`).writeFileSync(`pwned11`,``)})()?1_2",
    'k"]=1;__import__("os").system("touch pwned12");d["_3',
]
NODE = shutil.which("node") or "/usr/bin/node"


@pytest.fixture
def hostile(upload):
    def _asset(public_id: str) -> Asset:
        response = upload(make_image(60, 40), public_id=public_id)
        assert response.status_code == 200, response.content
        return Asset.objects.get(public_id=public_id)
    return _asset


@pytest.fixture
def sandbox(tmp_path):
    """Empty work and home directories; a stand-in curl and a stand-in cloudinary for node."""
    box = types.SimpleNamespace(work=tmp_path / "work", home=tmp_path / "home", bin=tmp_path / "bin",
                                app=tmp_path / "app", argv=tmp_path / "curl.argv", call=tmp_path / "node.json")
    for folder in (box.work, box.home, box.bin, box.app / "node_modules" / "cloudinary"):
        folder.mkdir(parents=True)
    curl = box.bin / "curl"
    curl.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > '{box.argv}'\n")
    curl.chmod(0o755)
    (box.app / "node_modules" / "cloudinary" / "index.js").write_text(
        "const fs = require('fs');\n"
        "exports.v2 = {url: (id, options) => {\n"
        f"  fs.writeFileSync({json.dumps(str(box.call))}, JSON.stringify([id, options])); return '';\n"
        "}};\n")
    box.env = {"PATH": f"{box.bin}:/usr/bin:/bin", "HOME": str(box.home), "LANG": "C.UTF-8"}
    yield box
    # the payloads aim at the work directory, HOME and the sandbox: nothing may appear
    assert list(box.work.iterdir()) == [] and list(box.home.iterdir()) == []
    assert not list(tmp_path.rglob("pwned*")) and not list(tmp_path.rglob("x"))


def page_snippets(client, asset, chain: str) -> dict:
    html = client.get(f"/studio/{asset.asset_id}/", {"t": chain}).content.decode()
    chain = palette.text(palette.parse(chain))
    found = {}
    for name in ("python", "node", "curl"):
        match = re.search(rf'id="code-{name}"[^>]*>([^<]*)</textarea>', html)
        assert match, f"the {name} snippet broke out of its textarea"
        found[name] = unescape(match.group(1))
    assert found == snippets.snippets(asset, chain, "http://testserver" + chains.delivery_path(asset, chain)[0],
                                      chains.delivery_path(asset, chain)[1])
    return found


def run_curl(box, code: str) -> list[str]:
    done = subprocess.run(["bash", "-c", code], cwd=box.work, env=box.env, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return box.argv.read_bytes().decode().split("\0")[:-1]


PY_RUNNER = """
import ast, sys, cloudinary
cloudinary.config(cloud_name="demo", api_key="k", api_secret=sys.argv[1], cname="testserver", secure=False,
                  private_cdn=False, cdn_subdomain=False, secure_distribution=None, signature_algorithm="sha1")
module = ast.parse(sys.stdin.read())
last = module.body.pop()
exec(compile(module, "snippet", "exec"))
print(eval(compile(ast.Expression(last.value), "snippet", "eval")))
"""


def run_python(box, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PY_RUNNER, links.signing_secret()], input=code, text=True,
                          cwd=box.work, env=box.env, capture_output=True, timeout=60)


def run_node(box, code: str):
    script = box.app / "snippet.js"
    script.write_text(code)
    done = subprocess.run([NODE, str(script)], cwd=box.work, env=box.env, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(box.call.read_text())


def delivered(client, url: str):
    parts = urlsplit(url)
    assert parts.netloc == "testserver"
    response = client.get(parts.path)
    assert response.status_code == 200, (url, response.content[:300])
    return pyvips.Image.new_from_buffer(b"".join(response.streaming_content) if response.streaming
                                        else response.content, "")


def check_all(client, box, asset, chain: str, renders: bool = True) -> None:
    code = page_snippets(client, asset, chain)
    chain = palette.text(palette.parse(chain))  # what the page shows (canonical order)
    url = "http://testserver" + chains.delivery_path(asset, chain)[0]

    assert run_curl(box, code["curl"]) == ["-o", snippets.download_name(asset), url]

    transformation, options = snippets.sdk_options(asset, chain, chains.delivery_path(asset, chain)[1])
    expected = json.loads(json.dumps([asset.public_id, {"transformation": transformation, **options}]
                                     if transformation else [asset.public_id, options]))
    assert run_node(box, code["node"]) == expected

    python = run_python(box, code["python"])
    if renders:
        assert python.returncode == 0, python.stderr
        built = python.stdout.strip()
        served, ours = delivered(client, built), delivered(client, url)
        assert (served.width, served.height) == (ours.width, ours.height)
        assert (served - ours).abs().max() == 0
    # (a raw step is no transformation the SDK knows: it may refuse it; it must not run it)


@pytest.mark.parametrize("public_id", PUBLIC_IDS)
def test_hostile_public_ids(login, hostile, sandbox, public_id):
    asset = hostile(public_id)
    client = login("editor")
    check_all(client, sandbox, asset, "")
    check_all(client, sandbox, asset, "c_fill,w_30,h_20/e_grayscale")


@pytest.mark.parametrize("text", TEXTS)
def test_hostile_text_layers(login, hostile, sandbox, text):
    asset = hostile("cmd/banner;touch pwned0;x")
    chain = f"co_white,l_text:Arial_20:{text}/fl_layer_apply,g_center"
    assert chains.validate(chain) == ("", None)
    check_all(login("editor"), sandbox, asset, chain)


@pytest.mark.parametrize("step", RAW)
def test_hostile_raw_steps(login, hostile, sandbox, step):
    asset = hostile("cmd/`touch pwned13`")
    check_all(login("editor"), sandbox, asset, f"e_sepia/{step}", renders=False)


def test_literals_evaluate_to_their_values(sandbox):
    """Every character class the escapes care about, through Python's and node's own parsers."""
    values = ["'\"\\`$\n\r\t\0\u2028\u2029</script><!--&", "ü€😀", "", "a" * 3]
    other = [1, -2, 2.5, True, False, None, {"$k": 1, "a-b": [1, "x"], "if": "w_gt_1"}]
    for value in [*values, *other]:
        assert eval(snippets.py_literal(value)) == value  # noqa: S307 - our own literal
    assert repr(eval(snippets.py_literal(float("inf")))) == "inf"  # noqa: S307
    script = sandbox.app / "literals.js"
    literals = ", ".join(snippets.js_literal(v) for v in values + other)
    script.write_text(f"process.stdout.write(JSON.stringify([{literals}]))")
    done = subprocess.run([NODE, str(script)], capture_output=True, timeout=30, cwd=sandbox.work, env=sandbox.env)
    assert json.loads(done.stdout) == values + other
    assert not re.search(r"[<>&\u2028\u2029]", "".join(snippets.js_literal(v) for v in values))


def test_home_page_config_snippet_is_quoted(login, settings):
    settings.DAM_CLOUD_NAME = "de\"mo');import os;('"
    html = login("viewer").get("/").content.decode()
    code = unescape(re.search(r"<pre[^>]*>([^<]*)</pre>", html).group(1))
    assert f"cloud_name={settings.DAM_CLOUD_NAME!r}" in code
