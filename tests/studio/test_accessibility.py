"""Every screen in a real Chromium with axe-core injected (npm `axe-core`, tests/sdk/node): no
serious or critical violation, at 1280x800 and 390x844, in light mode and (library, asset, Studio)
dark mode; a screenshot of each (test-artifacts/screens/a11y-<screen>-<width>.png); at 390 px no
horizontal scrolling and every button of every table inside the viewport; the Studio's steps all
look and read alike, the first one included.

The data (real images uploaded through the Upload API, a named transformation, an API key, a
preset, a user, a deleted asset with a backup) is made once per width; each width walks every
screen in one logged-in browser context and reports all screens' problems at once."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.test import Client

from assets.models import ApiKey, Asset, Collection, CollectionItem, GenerationTask, ShareLink, UploadPreset
from tests.browser import SCREENS, browser, page  # noqa: F401
from tests.conftest import make_image, signed
from tests.studio_fixtures import PASSWORD, make_user
from transforms.cloudinary import named

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("a11y")]

AXE = Path(__file__).resolve().parents[1] / "sdk" / "node" / "node_modules" / "axe-core" / "axe.min.js"
HEIGHTS = {1280: 800, 390: 844}
CHAIN = "c_fill,w_300,h_200/e_grayscale/r_20"
GENERATIVE = "ar_16:9,b_gen_fill,c_pad,w_160"

# the serious and critical violations of the page: [{id, impact, help, nodes}]
RUN_AXE = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 6).map(n => n.target.join(' ') + (n.failureSummary ? ' -- ' + n.failureSummary.split('\\n').slice(1, 2).join('') : ''))}));
}"""

# buttons (and button-like links) of tables that are not fully inside the viewport
OFF_SCREEN = """() => [...document.querySelectorAll('table button, table a.button, table input[type=submit]')]
    .filter(b => b.offsetParent !== null)
    .map(b => [b, b.getBoundingClientRect()])
    .filter(([b, r]) => r.left < 0 || r.right > document.documentElement.clientWidth + 0.5)
    .map(([b, r]) => (b.getAttribute('aria-label') || b.textContent.trim()) + ' at ' + Math.round(r.left) + '..' + Math.round(r.right))"""

TABLE_BUTTONS = "() => document.querySelectorAll('table button, table a.button').length"
# screens whose tables have row buttons: at 390 px they must have some (the check above is not vacuous)
TABLES = {"trash", "users", "api-keys", "presets", "asset-tables-stacked"}

SCROLLS_SIDEWAYS = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"

# Violations on screens other helpers are rebuilding (their files): reported, not failing here.
# screen -> rule ids; an empty dict once those land.
OTHERS: dict[str, set[str]] = {}  # screen -> axe rule ids tolerated there (none today)


def upload(key, public_id: str, width: int, height: int, seed: int = 0, **params) -> Asset:
    data = signed({"public_id": public_id, "tags": "summer,sale", **params}, key)
    data["file"] = io.BytesIO(make_image(width, height, seed=seed))
    data["file"].name = public_id.rsplit("/", 1)[-1] + ".jpg"
    response = Client().post("/v1_1/demo/image/upload", data)
    assert response.status_code == 200, response.content
    return Asset.objects.get(public_id=public_id)


@pytest.fixture
def data(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DAM_INPAINT_URL = settings.DAM_IMAGE_EDIT_URL = ""
    admin = make_user("root", "superuser")
    make_user("vera", "viewer")
    editor = make_user("eddie", "editor")
    key = ApiKey.objects.create(name="ci uploads", role="editor")
    photos = [upload(key, name, w, h, seed=i, context="alt=A test picture", backup="true") for i, (name, w, h) in
              enumerate([("trip/beach", 640, 480), ("trip/hills", 480, 640), ("shop/shoe", 800, 400)])]
    photo = upload(key, "trip/beach", 600, 400, seed=7, overwrite="true", backup="true")  # a version to restore
    for chain in ("c_fill,w_240,h_240", "e_grayscale,w_300"):  # derived images listed on the asset page
        delivered = Client().get(f"/demo/image/upload/{chain}/trip/beach.jpg")
        assert delivered.status_code == 200, delivered
    gone = upload(key, "old/poster", 300, 200, backup="true")
    editor_client = Client()
    editor_client.force_login(editor)
    deleted = editor_client.post("/library/-/bulk/", {"action": "delete", "confirm": "1", "ids": [gone.asset_id]})
    assert deleted.status_code in (200, 302)
    named.create("thumb", "c_fill,w_200,h_200")
    preset = UploadPreset.objects.create(name="products", settings={"folder": "products", "tags": "new"})
    collection = Collection.objects.create(name="Summer picks", created_by=admin)
    for position, asset in enumerate(photos):
        CollectionItem.objects.create(collection=collection, asset=asset, position=position)
    share = ShareLink.objects.create(collection=collection, created_by=admin)
    # the Generate screen: a back-end configured (never called here) and a failed task to list and open
    settings.DAM_IMAGE_GENERATION_URL = "http://127.0.0.1:9/v1"
    failed = GenerationTask.objects.create(
        api_key=f"user:{admin.pk}", asynchronous=True, status="failed",
        request={"prompt": "A lighthouse", "model_id": "flux-2-pro", "width": 1024, "height": 576, "format": "png",
                 "target_type": "temporary", "seed": 3},
        error={"category": "server_error", "code": "backend_error", "details": {},
               "message": "The image generation back-end (DAM_IMAGE_GENERATION_URL) could not be reached"})
    return {"admin": admin, "editor": editor, "key": key, "photo": photo, "photos": photos, "preset": preset,
            "collection": collection, "share": share, "generation": failed.task_id}


def log_in(page, username: str, next_url: str = "/library/"):
    page.goto(f"/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{next_url}*")


def open_preview(page, data):
    page.goto("/library/")
    page.locator(f'.thumb[data-preview*="{data["photos"][2].asset_id}"]').click()
    page.wait_for_function("() => document.getElementById('preview-dialog').open && "
                           "!document.getElementById('preview-dialog').hasAttribute('aria-busy')")


def open_revoke(page, data):
    page.goto("/admin/keys/")
    page.locator("tr", has_text=data["key"].key).get_by_role("button", name="Revoke").click()
    page.wait_for_url("**/revoke/")


def open_key_secret(page, data):
    page.goto("/admin/keys/")
    page.get_by_label("Name").fill("made by the test")
    page.get_by_role("button", name="Create key").click()
    page.get_by_role("heading", name="API key created").wait_for()


def open_bulk_delete(page, data):
    page.goto("/library/")
    ids = [p.asset_id for p in data["photos"][1:]]
    page.evaluate("""ids => {
        const form = document.createElement('form');
        form.method = 'post'; form.action = '/library/-/bulk/';
        const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
        const add = (name, value) => { const i = document.createElement('input'); i.type = 'hidden';
            i.name = name; i.value = value; form.appendChild(i); };
        add('csrfmiddlewaretoken', token); add('action', 'delete'); ids.forEach(id => add('ids', id));
        document.body.appendChild(form); form.submit();
    }""", ids)
    page.wait_for_url("**/library/-/bulk/")


def open_shortcuts(page, data):
    page.goto("/library/")
    page.keyboard.press("?")
    page.locator("#shortcuts").wait_for(state="visible")


def asset_tables_stacked(page, data):
    """The asset page with class="stack" on its tables: what the integrator adds to asset.html and
    partials/derived.html (H3's files), checked here so the generic CSS is known to work there."""
    page.goto(f"/assets/{data['photo'].asset_id}/")
    page.evaluate("() => document.querySelectorAll('.table-wrap > table').forEach(t => t.classList.add('stack'))")


def studio(chain: str = "", extra: str = ""):
    def go(page, data):
        query = f"?t={chain}{extra}" if chain else ""
        page.goto(f"/studio/{data['photo'].asset_id}/{query}")
        if chain:  # the live preview has answered (image or error)
            page.wait_for_function("() => { const i = document.querySelector('#preview'); const e = "
                                   "document.querySelector('#preview-error'); return (i && i.hasAttribute('data-ok'))"
                                   " || (e && !e.hidden); }")
    return go


def url(path: str):
    return lambda page, data: page.goto(path.format(**{k: v for k, v in _ids(data).items()}))


def _ids(data) -> dict:
    return {"asset": data["photo"].asset_id, "user": data["editor"].pk, "preset": data["preset"].pk,
            "collection": data["collection"].pk, "generation": data["generation"]}


# (name, how to get there, also in dark mode)
SCREENS_LIST = [
    ("home", url("/"), False),
    ("library", url("/library/"), True),
    ("library-folder", url("/library/trip/"), False),
    ("library-search", url("/library/?q=beach"), False),
    ("library-empty-search", url("/library/?q=zzz-nothing-here"), False),
    ("library-search-expression-error", url("/library/?q=tags:(beach"), False),
    ("library-preview", open_preview, True),
    ("shortcuts", open_shortcuts, False),
    ("asset", url("/assets/{asset}/"), True),
    ("asset-tables-stacked", asset_tables_stacked, False),
    ("collections", url("/collections/"), False),
    ("collection", url("/collections/{collection}/"), False),
    ("trash", url("/library/-/trash/"), True),
    ("confirm-delete", open_bulk_delete, False),
    ("studio-home", url("/studio/"), False),
    ("studio-chain", studio(CHAIN), True),
    ("studio-edit-first", studio(CHAIN, "&edit=0"), False),
    ("studio-error", studio("c_fill,w_300/e_nonsense_effect"), True),
    ("refiner-background", url("/studio/{asset}/refine/background/?t=e_background_removal"), False),
    ("refiner-focus", url("/studio/{asset}/refine/focus/"), True),
    ("refiner-generative", url("/studio/{asset}/refine/generative/?t=" + GENERATIVE), False),
    ("generate", url("/generate/"), True),
    ("generate-task", url("/generate/{generation}/"), False),
    ("named-list", url("/transformations/"), False),
    ("named-edit", url("/transformations/thumb/"), False),
    ("named-delete", url("/transformations/thumb/delete/"), False),
    ("users", url("/admin/users/"), False),
    ("user-edit", url("/admin/users/{user}/"), False),
    ("api-keys", url("/admin/keys/"), True),
    ("api-key-revoke", open_revoke, False),
    ("api-key-secret", open_key_secret, False),
    ("presets", url("/admin/presets/"), False),
    ("preset-edit", url("/admin/presets/{preset}/"), False),
    ("settings", url("/admin/settings/"), False),
    ("404", url("/assets/0123456789abcdef0123456789abcdef/"), True),
]


def check(page, name: str, width: int, problems: dict):
    page.wait_for_load_state("load")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE)
    if width < 600 and page.evaluate(SCROLLS_SIDEWAYS):
        found.append({"id": "horizontal-scroll", "help": "the page scrolls sideways", "nodes": page.evaluate(
            """() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right >
                document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className)""")})
    if width < 600 and (off := page.evaluate(OFF_SCREEN)):
        found.append({"id": "table-button-off-screen", "help": "a table's button is outside the viewport",
                      "nodes": off})
    if name in TABLES:
        assert page.evaluate(TABLE_BUTTONS) > 0, f"{name}: no buttons in its table"
    allowed = OTHERS.get(name.removesuffix("-dark"), set())
    failing = [v for v in found if v["id"] not in allowed]
    if found and not failing:
        print(f"{name} at {width}: known problems on another helper's screen: {found}")
    if failing:
        problems[f"{name} at {width}"] = failing
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"a11y-{name}-{width}.png"), full_page=True)


def report(problems: dict) -> str:
    lines = []
    for where, violations in problems.items():
        for v in violations:
            lines.append(f"{where}: {v['id']} ({v.get('impact', '-')}) {v['help']}\n      " + "\n      ".join(v["nodes"]))
    return "\n".join(lines)


@pytest.mark.parametrize("width", [1280, 390])
def test_every_screen_passes_axe_and_fits(browser, live_server, data, width):  # noqa: F811
    if not AXE.exists():
        pytest.skip(f"axe-core is missing ({AXE}): npm install in tests/sdk/node")
    problems: dict = {}
    errors: list[str] = []

    def context():
        ctx = browser.new_context(viewport={"width": width, "height": HEIGHTS[width]}, base_url=live_server.url,
                                  bypass_csp=True)
        ctx.set_default_timeout(20_000)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return ctx, page

    # logged out: the login page; a viewer: the 403 page
    ctx, page = context()
    page.goto("/login/")
    check(page, "login", width, problems)
    page.goto(f"/share/{data['share'].token}/")  # a collection's share page, anonymous
    check(page, "share", width, problems)
    log_in(page, "vera")
    assert page.goto("/admin/keys/").status == 403
    check(page, "403", width, problems)
    ctx.close()

    ctx, page = context()
    log_in(page, "root")
    for name, go, dark in SCREENS_LIST:
        go(page, data)
        check(page, name, width, problems)
        if dark:
            page.emulate_media(color_scheme="dark")
            go(page, data)
            check(page, f"{name}-dark", width, problems)
            page.emulate_media(color_scheme="light")
    ctx.close()
    assert not problems, "accessibility problems:\n" + report(problems)
    assert not errors, f"JavaScript errors: {errors}"


# each step of the Studio's list: its box, its number, its buttons (name, disabled, left edge from the step's)
STEPS = """() => [...document.querySelectorAll('#steps > li.step')].map(li => {
    const box = li.getBoundingClientRect(), style = getComputedStyle(li);
    const title = li.querySelector('.step-title');
    return {
        classes: li.className, border: style.borderTopColor + ' ' + style.borderTopWidth,
        background: style.backgroundColor, padding: style.padding, left: box.left, width: box.width,
        number: getComputedStyle(title, '::before').content, weight: getComputedStyle(title).fontWeight,
        buttons: [...li.querySelectorAll('.step-actions a, .step-actions button')].map(b => ({
            name: (b.getAttribute('aria-label') || '').replace(/step \\d+: .*/, ''), disabled: b.disabled === true,
            left: Math.round(b.getBoundingClientRect().left - box.left), width: Math.round(b.getBoundingClientRect().width),
            height: Math.round(b.getBoundingClientRect().height)})),
    };
})"""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_first_step_looks_and_reads_like_the_others(page, live_server, data, width):  # noqa: F811
    page.set_viewport_size({"width": width, "height": HEIGHTS[width]})
    log_in(page, "root")
    photo = data["photo"].asset_id
    page.goto(f"/studio/{photo}/?t={CHAIN}")
    steps = page.evaluate(STEPS)
    assert len(steps) == 3
    assert len({s["number"] for s in steps}) == 1  # one numbering rule for all (a counter, 1. 2. 3.)
    first, *others = steps
    for other in others:
        for prop in ("classes", "border", "background", "padding", "left", "width", "weight"):
            assert first[prop] == other[prop], (prop, first[prop], other[prop])
        # the same buttons in the same places, the impossible move disabled rather than missing
        assert [(b["name"], b["left"], b["width"], b["height"]) for b in first["buttons"]] == \
               [(b["name"], b["left"], b["width"], b["height"]) for b in other["buttons"]]
    assert [b["name"] for b in first["buttons"]] == ["Edit ", "Move up ", "Move down ", "Remove "]
    assert [b["disabled"] for b in first["buttons"]] == [False, True, False, False]
    assert [b["disabled"] for b in steps[-1]["buttons"]] == [False, False, True, False]
    # moving the second step up makes it the first: the chain changes, the list keeps its shape
    page.get_by_role("button", name="Move up step 2: Effect").click()
    page.wait_for_url("**e_grayscale/c_fill**")
    assert [s["buttons"][1]["disabled"] for s in page.evaluate(STEPS)] == [True, False, False]
    page.get_by_role("button", name="Move down step 1: Effect").click()
    page.wait_for_url("**c_fill,h_200,w_300/e_grayscale**")

    # editing the first step (edit=0, a falsy index) opens its form in place, like any other step
    for index in (0, 1):
        page.goto(f"/studio/{photo}/?t={CHAIN}&edit={index}")
        form = page.locator(f"#step-{index} form.step-form")
        assert form.is_visible() and form.get_by_role("button", name="Save step").is_visible()
        assert page.locator("form.step-form[id=edit-form]").count() == 1
    # a bad first step is marked like a bad later one: the red box and the message inside it
    for chain, bad in (("e_nonsense_effect/c_fill,w_300", 0), ("c_fill,w_300/e_nonsense_effect", 1)):
        page.goto(f"/studio/{photo}/?t={chain}")
        steps = page.evaluate(STEPS)
        assert ["bad" in s["classes"] for s in steps] == [i == bad for i in range(2)]
        assert "Invalid effect" in page.locator(f"#step-{bad} .error").inner_text()
        assert steps[bad]["border"] != steps[1 - bad]["border"]
    page.goto(f"/studio/{photo}/?t=e_nonsense_effect/c_fill,w_300")
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"a11y-studio-first-step-bad-{width}.png"), full_page=True)


def test_icons_sit_beside_the_text_and_are_hidden_from_screen_readers(client, settings):
    """Nav sections, Log out, Shortcuts and the admin row actions carry a decorative Lucide icon
    (aria-hidden) and keep their words: the accessible names do not change."""
    import re

    admin = make_user("root", "superuser")
    ApiKey.objects.create(name="ci", role="viewer")
    UploadPreset.objects.create(name="products")
    client.force_login(admin)
    for path, names in [("/admin/keys/", ["Rotate secret", "Revoke", "Create key"]),
                        ("/admin/presets/", ["Edit", "Delete", "Create preset"]),
                        ("/admin/users/", ["Edit", "Create user"])]:
        html = client.get(path).content.decode()
        nav = html[html.index('<nav class="sections"'):html.index("</nav>")]
        links = re.findall(r"<a [^>]*>(.*?)</a>", nav, re.S)
        assert len(links) >= 7 and all('<svg' in link and 'aria-hidden="true"' in link for link in links), links
        for name in [*names, "Log out", "Shortcuts"]:
            control = re.search(r"<(?:button|a)\b[^>]*>\s*(<svg\b[^>]*>.*?</svg>)\s*" + re.escape(name), html, re.S)
            assert control, f"{path}: no icon beside {name!r}"
            assert 'aria-hidden="true"' in control.group(1) and 'class="icon"' in control.group(1)
