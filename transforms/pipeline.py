"""The executor's inner loop: a plan's steps run on pixels, in order.

`run_plan` loads the original (shrunk on load when the first step downsizes, see
`_first`), then runs each step: an `Action` (see transforms.plan.Action for the order
of its operations), a `Block` (its condition evaluated against the current image), a
`LayerStep` (the layer loaded by transforms.ops.layers, its own component and inner
steps run on it, then placed).  After each step the image is computed into memory
under the render's time budget, after its size was checked against the output pixel
limit and the render's memory budget (transforms.memory: the size is known before the
pixels), so no later step recomputes earlier ones, a runaway step is stopped and an
image too large is refused before it is computed.  One exception: a plan
whose only step crops and resizes a shrunk load streams decode -> crop -> encode in one
libvips pipeline (nothing reads those pixels twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyvips

from assets.focus import region_box
from core.errors import BadRequest, Unauthorized

from . import focus as stored_focus
from . import limits, memory
from .encode import ORIENTED_FORMATS
from .geometry import Box, Geometry, Request, compute
from .ops import layers, resize, shape
from .ops.registry import RenderContext
from .ops.registry import load as effects
from .originals import PILLOW_FORMATS, normalise, open_thumbnail, orientation
from .plan import Action, Block, LayerStep
from .values import Env, Gravity, Length, is_expr

OBJECT_SCORE = 0.3  # a detected object steers a crop from this score up
OBJECT_SIDE = 640  # objects are found on the original shrunk to this side (the model sees 416)

PAD_MODES = ("pad", "lpad", "mpad", "fill_pad", "auto_pad")


@dataclass
class State:
    asset: Any
    budget: limits.Budget
    iw: int
    ih: int
    signed: bool = False
    variables: dict = field(default_factory=dict)
    ctx: RenderContext = field(default_factory=RenderContext)
    memory: memory.Ledger = field(default_factory=memory.Ledger)
    _tags: list | None = None
    _faces: list | None = None
    _objects: list | None = None
    pixels: Any = None  # callable(side) -> the upright source, at most `side` px a side (object detection)

    def env(self, image: pyvips.Image):
        if self._tags is None:
            self._tags = list(self.asset.tag_names) if self.asset is not None and self.asset.pk else []
        context = (self.asset.context if self.asset is not None else None) or {}
        return Env(iw=self.iw, ih=self.ih, w=image.width, h=image.height, fc=len(self.faces_original()),
                   tags=self._tags, ctx={str(k): str(v) for k, v in context.items()}, variables=self.variables)

    def faces_original(self) -> list:
        if self._faces is None:
            self._faces = stored_focus.faces(self.asset) if self.asset is not None and self.asset.pk else []
        return self._faces

    def objects_original(self, image: pyvips.Image) -> list:
        """[(COCO class, score, (x, y, w, h) on the original)]: NanoDet, run at most once per
        render, on the source shrunk (`pixels`), or on `image` when there is no source."""
        if self._objects is None:
            source = self.pixels(OBJECT_SIDE) if self.pixels is not None else image
            rgb = _rgb(source)
            kx, ky = self.iw / source.width, self.ih / source.height
            self._objects = [(name, score, (x0 * kx, y0 * ky, (x1 - x0) * kx, (y1 - y0) * ky))
                             for name, score, (x0, y0, x1, y1) in stored_focus.objects(rgb, OBJECT_SCORE)]
        return self._objects

    def scaled_boxes(self, boxes, image: pyvips.Image) -> list[Box]:
        """Boxes given on the original, mapped onto the current image (uniform scale)."""
        sx, sy = image.width / self.iw, image.height / self.ih
        return [Box(int(x * sx), int(y * sy), max(1, int(w * sx)), max(1, int(h * sy))) for x, y, w, h in boxes]


# --- values -------------------------------------------------------------------------------


def number(value, state: State, image: pyvips.Image) -> float | None:
    if value is None:
        return None
    if is_expr(value):
        result = value.evaluate(state.env(image))
        if not isinstance(result, (int, float)):
            raise BadRequest(f"Expression {value.canonical} is not a number")
        return float(result)
    if isinstance(value, Length):
        return value.value
    return float(value)


def pixels(value, reference: float, state: State, image: pyvips.Image) -> float | None:
    if isinstance(value, Length):
        return value.pixels(reference)
    return number(value, state, image)


def _union(boxes: list[Box]) -> Box:
    x0, y0 = min(b.x for b in boxes), min(b.y for b in boxes)
    x1, y1 = max(b.x + b.w for b in boxes), max(b.y + b.h for b in boxes)
    return Box(x0, y0, x1 - x0, y1 - y0)


def _rgb(image: pyvips.Image):
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    if image.bands < 3:
        image = image.bandjoin([image, image])
    return image[0:3].cast("uchar").numpy()


def _largest(boxes: list[Box]) -> Box:
    return max(boxes, key=lambda b: b.w * b.h)


def faces_box(which: str, state: State, image: pyvips.Image) -> Box | None:
    """``face``: the largest face; ``faces``: the box around all of them; None: no face."""
    faces = state.scaled_boxes(state.faces_original(), image)
    if not faces:
        return None
    return _largest(faces) if which == "face" else _union(faces)


def custom_box(state: State, image: pyvips.Image) -> Box | None:
    boxes = getattr(state.asset, "custom_coordinates", None) or []
    return _largest(state.scaled_boxes(boxes, image)) if boxes else None


def objects_box(classes, state: State, image: pyvips.Image) -> Box | None:
    found = [box for name, _score, box in state.objects_original(image) if name in classes]
    return _union(state.scaled_boxes(found, image)) if found else None


def region_focus(name: str, state: State, image: pyvips.Image) -> Box:
    regions = getattr(state.asset, "regions", None) or {}
    if name not in regions:
        known = ", ".join(sorted(regions)) or "none"
        raise BadRequest(f"Unknown region: {name} (this image's regions: {known})")
    return state.scaled_boxes([region_box(regions[name])], image)[0]


def auto_box(g: Gravity, state: State, image: pyvips.Image, salient=None) -> Box:
    """g_auto: an aoi as given; else stored custom boxes (unless told not to), the focal
    objects, the faces (unless ``none``), then saliency."""
    if g.focal == "aoi":
        return state.scaled_boxes([g.box], image)[0]
    box = custom_box(state, image) if g.override else None
    if box is None and g.focal == "objects":
        box = objects_box(g.objects, state, image)
    if box is None and g.focal != "none":
        box = faces_box("face" if g.focal == "face" else "faces", state, image)
    if box is None:
        box = salient() if salient is not None else resize.salient_box(image)
    return box


def resolve(g: Gravity | None, state: State, image: pyvips.Image, salient=None) -> tuple[str, Box | None]:
    """(the place geometry reads: a compass word, ``xy_center``, "" or ``focus``; the focus
    box on the current image, or None when the gravity fell back to a fixed place)."""
    if g is None:
        return "", None
    if g.fixed:
        return g.kind, None
    box: Box | None = None
    if g.kind in ("face", "faces"):
        box = faces_box(g.kind, state, image)
        if box is None:
            if g.fallback == "auto":
                box = auto_box(Gravity("auto"), state, image, salient)
            else:
                return g.fallback or "north", None
    elif g.kind == "custom":
        box = custom_box(state, image)
        if box is None and g.fallback:
            box = faces_box(g.fallback, state, image)
    elif g.kind == "region":
        box = region_focus(g.region, state, image)
    elif g.kind == "object":
        box = objects_box(g.objects, state, image)
    elif g.kind == "auto":
        box = auto_box(g, state, image, salient)
    return ("focus", box) if box is not None else ("center", None)


def request(a: Action, image: pyvips.Image, state: State, reference=None, salient=None) -> Request:
    """The geometry request of `a` for the current `image` (values evaluated)."""
    ref_w, ref_h = reference or (image.width, image.height)
    w = pixels(a.width, ref_w, state, image)
    h = pixels(a.height, ref_h, state, image)
    ar = number(a.ar, state, image)
    if a.dpr:
        if w or h:
            w, h = (w * a.dpr if w else None), (h * a.dpr if h else None)
        elif not ar:
            w = image.width * a.dpr
    mode = a.crop or "scale"
    g = a.gravity if a.gravity is not None else (Gravity("auto") if mode in ("auto", "auto_pad") else None)
    place, box = resolve(g, state, image, salient) if mode != "scale" else ("", None)
    return Request(mode, w, h, ar, place, pixels(a.x, image.width, state, image),
                   pixels(a.y, image.height, state, image), number(a.zoom, state, image), box)


def pad_colour(a: Action, image: pyvips.Image):
    if a.background is None:
        return resize.WHITE
    if a.background.color is not None:
        return a.background.color
    return resize.auto_background(image, a.background.auto)


# --- steps ----------------------------------------------------------------------------------


def _settle(image: pyvips.Image, state: State) -> pyvips.Image:
    state.budget.check()
    limits.check_output(image.width, image.height)
    state.memory.settle(image)
    try:
        with state.budget.limit(image):
            image = image.copy_memory()
    except pyvips.Error:
        if state.budget.expired:
            raise state.budget.error() from None
        raise
    return image


def action(image: pyvips.Image, a: Action, state: State, *, reference=None, geometry_done=False) -> pyvips.Image:
    if a.assignments:
        env = state.env(image)
        for assignment in a.assignments:
            assignment.apply(env)
    if a.angle is not None and a.angle.auto and not geometry_done:
        r = request(a, image, state, reference)
        if r.width and r.height and (r.width > r.height) != (image.width > image.height):
            image = shape.rotate(image, 90 if a.angle.auto == "auto_right" else 270)
    if a.resizes and not geometry_done:
        geometry = compute(image.width, image.height, request(a, image, state, reference))
        limits.check_output(*geometry.out_size)
        image = resize.apply(image, geometry, pad_colour(a, image) if geometry.canvas else resize.WHITE)
    if a.effect is not None:
        entry = effects()[a.effect.name]
        if entry.needs_faces:  # only these read (and may detect) the faces
            state.ctx.faces = [(b.x, b.y, b.w, b.h) for b in state.scaled_boxes(state.faces_original(), image)]
        image = entry.apply(image, a.effect.value, state.ctx)
    corners = False
    if a.radius is not None:
        corners = tuple(number(c, state, image) for c in a.radius.corners) or None
        image = shape.round_corners(image, corners)
    if a.border is not None:
        image = shape.border(image, a.border.width, a.border.color, corners)
    if a.angle is not None:
        for op in a.angle.ops:
            if op in ("hflip", "vflip"):
                image = shape.flip(image, op)
            elif not isinstance(op, str):
                image = shape.rotate(image, number(op, state, image))
    if a.opacity is not None:
        image = shape.opacity(image, number(a.opacity, state, image))
    if a.background is not None and image.hasalpha():
        image = shape.flatten(image, pad_colour(a, image))
    return image


def layer(image: pyvips.Image, step: LayerStep, state: State) -> pyvips.Image:
    if getattr(step.source, "type", "upload") != "upload" and not state.signed:
        raise Unauthorized(f"A {step.source.type} layer needs a signed URL")
    g = step.gravity
    place, box = resolve(g, state, image)
    if box is None and not g.fixed and (g.kind == "object" or (g.kind in ("face", "faces") and g.fallback == "north")):
        return image  # placed on a face (or object) the base does not have: the layer is dropped
    with state.memory.holding():  # the base stays in memory while the layer is prepared
        overlay = layers.load_source(step.source, dict(step.component), state.ctx)  # checks an image's size first
        limits.check_source(overlay.width, overlay.height, "Layer")
        state.memory.current = memory.image_bytes(overlay)  # decoded: what the next step reads
        overlay = _settle(normalise(overlay), state)
        reference = (image.width, image.height) if step.relative else None
        overlay = _settle(action(overlay, step.own, state, reference=reference), state)
        overlay = run(overlay, step.steps, state)
    x = pixels(step.x, image.width, state, image) or 0.0
    y = pixels(step.y, image.height, state, image) or 0.0
    opacity = number(step.opacity, state, image)
    if box is not None:  # centred on the box, offsets from its centre
        place, x, y = "xy_center", box.x + box.w / 2 + x, box.y + box.h / 2 + y
    placement = layers.Placement(place, x, y, step.tiled, step.no_overflow, 100.0 if opacity is None else opacity)
    return normalise(layers.place(image, overlay, placement, underlay=step.underlay))


def run(image: pyvips.Image, steps, state: State) -> pyvips.Image:
    for step in steps:
        if isinstance(step, Block):
            chosen = step.then if step.condition.evaluate(state.env(image)) else step.otherwise
            image = run(image, chosen, state)
            continue
        if isinstance(step, LayerStep):
            image = layer(image, step, state)
        else:
            image = action(image, step, state)
        image = _settle(image, state)
    return image


# --- loading ---------------------------------------------------------------------------------


class Original:
    """The original as `run_plan` sees it: its stored size and EXIF orientation (before the
    orientation is applied), and its pixels opened by `open()` only when a step needs them
    (a first step planned from the size alone loads a shrunk copy instead)."""

    def __init__(self, width: int, height: int, orientation: int, opener):
        self.width, self.height, self.orientation = width, height, orientation
        self._opener, self._image = opener, None

    @classmethod
    def of(cls, image: pyvips.Image) -> Original:
        """An original already opened (header read)."""
        orientation = image.get("orientation") if image.get_typeof("orientation") else 1
        original = cls(image.width, image.height, orientation, None)
        original._image = image
        return original

    def open(self) -> pyvips.Image:
        if self._image is None:
            self._image = self._opener()
        return self._image


def known_original(asset, plan, opener) -> Original | None:
    """The original of `asset` described from its row and the cached EXIF orientation, so
    that `run_plan` need not read its header, when the plan's first step can be planned
    from the size alone; None when the original must be opened first."""
    steps = plan.steps
    if not steps or not isinstance(steps[0], Action) or not steps[0].resizes:
        return None
    if steps[0].angle is not None and steps[0].angle.auto:
        return None
    if asset.format not in ORIENTED_FORMATS or asset.format in PILLOW_FORMATS:
        return None
    width, height = asset.width, asset.height  # as displayed: after the EXIF orientation
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        return None
    value = orientation(asset)
    if value in (5, 6, 7, 8):
        width, height = height, width
    return Original(width, height, value, opener)


def _upright(source: Original, no_rotate: bool) -> pyvips.Image:
    """The whole original, opened now, turned by its EXIF orientation unless a_ignore."""
    original = source.open()
    return normalise(original if no_rotate else original.autorot())


def _ignores_orientation(steps) -> bool:
    return any(isinstance(s, Action) and s.angle is not None and s.angle.ignore for s in steps)


def _pure_geometry(a) -> bool:
    """`a` only crops and resizes (no canvas is decided here): nothing reads its pixels but
    the next consumer, so its result can stream into the encoder."""
    return (isinstance(a, Action) and a.resizes and not a.assignments and a.effect is None and a.radius is None
            and a.border is None and a.opacity is None and a.background is None
            and (a.angle is None or all(op == "ignore" for op in a.angle.ops)))


def _first(asset, source: Original, first: Action, state: State, no_rotate: bool, stream: bool = False):
    """(image, True, streamed) with the first step's geometry already applied, loading the
    original shrunk when that geometry downsizes; (None, False, False) when the step cannot
    be planned from the header alone.  With `stream` (the step is the plan's only one and
    pure geometry), a shrunk load is cropped without being computed first (`streamed`)."""
    if first.angle is not None and first.angle.auto:
        return None, False, False
    header = pyvips.Image.black(state.iw, state.ih)  # sizes only: no pixel is read
    scratch = State(asset, state.budget, state.iw, state.ih, state.signed, dict(state.variables), state.ctx)
    scratch._faces, scratch.pixels = state._faces, state.pixels
    if first.assignments:
        env = scratch.env(header)
        for assignment in first.assignments:
            assignment.apply(env)

    def salient() -> Box:
        side = 256
        k = min(1.0, side / max(state.iw, state.ih))
        small = normalise(open_thumbnail(asset, max(1, round(state.iw * k)), max(1, round(state.ih * k)), no_rotate))
        found = resize.salient_box(small)
        return Box(int(found.x / k), int(found.y / k), int(found.w / k), int(found.h / k))

    geometry = compute(state.iw, state.ih, request(first, header, scratch, salient=salient))
    state._faces, state._objects = scratch._faces, scratch._objects  # found once per render
    limits.check_output(*geometry.out_size)
    crop = geometry.crop or Box(0, 0, state.iw, state.ih)
    sx, sy = geometry.width / crop.w, geometry.height / crop.h
    if sx < 1 and sy < 1:
        tw, th = max(1, round(state.iw * sx)), max(1, round(state.ih * sy))
        state.memory.need(tw * th * memory.RGBA)  # some formats are loaded into memory at this size
        image = normalise(open_thumbnail(asset, tw, th, no_rotate))
        box = Box(min(round(crop.x * sx), max(image.width - geometry.width, 0)),
                  min(round(crop.y * sy), max(image.height - geometry.height, 0)),
                  min(geometry.width, image.width), min(geometry.height, image.height))
        geometry = Geometry(box, geometry.width, geometry.height, geometry.canvas)
        if stream and geometry.canvas is None:
            return resize.apply(image, geometry), True, True
    else:
        image = _upright(source, no_rotate)
    image = _settle(image, state)
    background = pad_colour(first, image) if geometry.canvas else resize.WHITE
    return resize.apply(image, geometry, background), True, False


def run_plan(asset, source, plan, *, budget: limits.Budget, signed: bool = False,
             ledger: memory.Ledger | None = None, shrink_on_load: bool = True) -> pyvips.Image:
    """`source`: the original as opened by executor.open_original (header read, pixels not
    yet), or an `Original` (see `known_original`).  The result is in memory, except after a
    plan of one pure-geometry step loaded shrunk: that one streams into its consumer.
    `ledger`: the render's memory budget (a fresh one by default).  `shrink_on_load`:
    `source` is the asset's original, so a first resize may load it shrunk instead (not
    for a stored AI result or a generated image: transforms.sources)."""
    if not isinstance(source, Original):
        source = Original.of(source)
    no_rotate = _ignores_orientation(plan.steps)
    iw, ih = source.width, source.height
    if not no_rotate and source.orientation in (5, 6, 7, 8):
        iw, ih = ih, iw
    limits.check_source(iw, ih)
    state = State(asset, budget, iw, ih, signed)
    if ledger is not None:
        state.memory = ledger
    state.ctx = RenderContext(asset=asset, variables=state.variables)
    state.ctx.signed = signed

    def source_pixels(side: int) -> pyvips.Image:
        """The original again, shrunk while decoding (its own read: the source's pixels
        may be readable once only)."""
        k = min(1.0, side / max(iw, ih))
        return normalise(open_thumbnail(asset, max(1, round(iw * k)), max(1, round(ih * k)), no_rotate))

    if shrink_on_load:  # otherwise objects are found on the image being rendered
        state.pixels = source_pixels
    state.ctx.memory = state.memory  # transforms.ops.layers checks a layer's size before decoding it
    state.ctx.dpr = max([s.dpr for s in plan.steps if isinstance(s, Action) and s.dpr] or [1.0])
    steps = list(plan.steps)
    image, done, streamed = None, False, False
    if shrink_on_load and steps and isinstance(steps[0], Action) and steps[0].resizes:
        stream = len(steps) == 1 and _pure_geometry(steps[0])
        image, done, streamed = _first(asset, source, steps[0], state, no_rotate, stream)
    if streamed:
        state.budget.check()
        return image
    if image is None:
        image = _settle(_upright(source, no_rotate), state)
    if done:
        image = _settle(action(image, steps[0], state, geometry_done=True), state)
        steps = steps[1:]
    return run(image, steps, state)
