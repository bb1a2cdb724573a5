"""The values a plan's steps hold: what any URL dialect produces and the engine reads.

Every value is hashable and has a ``token`` (its canonical spelling, which enters the
derived-cache key through `Plan.key`), so two dialects that mean the same operation
produce equal values and land in the same cache entry.  A value may also be an
expression (anything with ``evaluate(env)`` and ``canonical``, `is_expr`): the engine
evaluates it against an `Env` when the step runs.  Parsing the Cloudinary spellings of
these values is transforms.cloudinary.params.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .rgba import Rgba, color_token

COMPASS = ("north_west", "north", "north_east", "west", "center", "east", "south_west", "south", "south_east")
# The common spellings (what the Studio offers); the parser takes every form (Gravity below).
GRAVITIES = (*COMPASS, "xy_center", "auto", "auto:faces", "face", "face:center", "faces", "faces:center", "custom",
             "custom:face")
CROP_MODES = ("scale", "fit", "limit", "mfit", "fill", "lfill", "fill_pad", "crop", "thumb", "pad", "lpad", "mpad",
              "auto", "auto_pad")
QUALITY_LEVELS = ("best", "good", "eco", "low")
DELIVERY_FLAGS = ("attachment", "progressive", "strip_profile", "keep_iptc", "lossy", "preserve_transparency",
                  "png8")
LAYER_FLAGS = ("layer_apply", "relative", "tiled", "no_overflow")
ANGLE_WORDS = ("hflip", "vflip", "auto_right", "auto_left", "ignore")


def fmt_number(value: float) -> str:
    """Shortest spelling: 400 -> "400", 0.5 -> "0.5", 2.25 -> "2.25"."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def is_expr(value: Any) -> bool:
    return hasattr(value, "evaluate") and hasattr(value, "canonical")


def token_of(value: Any) -> str:
    if value is None:
        return ""
    if is_expr(value):
        return value.canonical
    token = getattr(value, "token", None)
    if token is not None:
        return token
    if isinstance(value, float):
        return fmt_number(value)
    return str(value)


@dataclass(frozen=True)
class Length:
    """Pixels, or (``relative``) a fraction of the reference size."""

    value: float
    relative: bool = False

    @property
    def token(self) -> str:
        text = fmt_number(self.value)
        return text + (".0" if self.relative and "." not in text else "")

    def pixels(self, reference: float) -> float:
        return self.value * reference if self.relative else self.value


@dataclass(frozen=True)
class Radius:
    corners: tuple  # top-left, top-right, bottom-right, bottom-left (numbers or expressions); () = max

    @property
    def token(self) -> str:
        if not self.corners:
            return "max"
        return ":".join(token_of(c) for c in self.corners)


@dataclass(frozen=True)
class Angle:
    ops: tuple  # numbers (degrees clockwise), expressions, or words from ANGLE_WORDS, in order

    @property
    def token(self) -> str:
        return ".".join(op if isinstance(op, str) else token_of(op) for op in self.ops)

    @property
    def ignore(self) -> bool:
        return "ignore" in self.ops

    @property
    def auto(self) -> str | None:
        return next((op for op in self.ops if op in ("auto_right", "auto_left")), None)


@dataclass(frozen=True)
class Border:
    width: int
    color: Rgba

    @property
    def token(self) -> str:
        return f"{self.width}px_solid_{color_token(self.color)}"


@dataclass(frozen=True)
class Background:
    color: Rgba | None = None  # None: computed from the image (or generated: `gen`)
    auto: str = ""  # "border" or "predominant" when color is None
    gen: GenFill | None = None  # the padding is generated (transforms.ai.stages), not a colour

    @property
    def token(self) -> str:
        if self.gen is not None:
            return self.gen.token
        return color_token(self.color) if self.color is not None else f"auto:{self.auto}"


@dataclass(frozen=True)
class GenFill:
    """A generated padding: an optional prompt and seed (None: the default one).  What a step
    with it renders is a stored AI result (transforms.ai.stages), never computed in a delivery."""

    prompt: str = ""
    seed: int | None = None

    @property
    def token(self) -> str:
        parts = [f"prompt:{self.prompt}"] if self.prompt else []
        if self.seed is not None:
            parts.append(f"seed:{self.seed}")
        return "gen_fill(" + ";".join(parts) + ")"


@dataclass(frozen=True)
class Color:
    rgba: Rgba

    @property
    def token(self) -> str:
        return color_token(self.rgba)


@dataclass(frozen=True)
class Flag:
    name: str
    arg: str = ""

    @property
    def token(self) -> str:
        return self.name + (f":{self.arg}" if self.arg else "")


# --- gravity ------------------------------------------------------------------------------

# Objects a gravity may name, in COCO's classes as transforms.ai.detect spells them, under
# the names Cloudinary documents (ObjectGravity) and the COCO names themselves (with "_").
_COCO = (
    "person bicycle car motorcycle airplane bus train truck boat traffic-light fire-hydrant stop-sign "
    "parking-meter bench bird cat dog horse sheep cow elephant bear zebra giraffe backpack umbrella handbag tie "
    "suitcase frisbee skis snowboard sports-ball kite baseball-bat baseball-glove skateboard surfboard "
    "tennis-racket bottle wine-glass cup fork knife spoon bowl banana apple sandwich orange broccoli carrot "
    "hot-dog pizza donut cake chair couch potted-plant bed dining-table toilet tv laptop mouse remote keyboard "
    "cell-phone microwave oven toaster sink refrigerator book clock vase scissors teddy-bear hair-drier "
    "toothbrush"
).split()
COCO_CLASSES: tuple[str, ...] = tuple(_COCO)  # in the detector's output order (transforms.ai.detect)
OBJECT_NAMES: dict[str, str] = {name.replace("-", "_"): name for name in _COCO}
OBJECT_NAMES.update({
    "motorbike": "motorcycle", "aeroplane": "airplane", "stopsign": "stop-sign", "parkingmeter": "parking-meter",
    "firehydrant": "fire-hydrant", "sportsball": "sports-ball", "baseballbat": "baseball-bat",
    "baseballglove": "baseball-glove", "tennisracket": "tennis-racket", "hotdog": "hot-dog", "sofa": "couch",
    "pottedplant": "potted-plant", "diningtable": "dining-table", "tvmonitor": "tv", "cellphone": "cell-phone",
})
_CATEGORIES = {
    "person": "person",
    "vehicle": "bicycle car motorbike aeroplane bus train truck boat",
    "outdoor": "traffic_light stopsign parkingmeter firehydrant bench",
    "animal": "bird cat dog horse sheep cow elephant bear zebra giraffe",
    "accessory": "frisbee skis snowboard sportsball kite baseballbat baseballglove skateboard surfboard tennisracket",
    "kitchen": "bottle wine_glass cup fork knife spoon bowl",
    "food": "banana apple sandwich orange broccoli carrot hotdog pizza donut cake",
    "furniture": "chair sofa pottedplant bed diningtable toilet",
    "electronic": "tvmonitor laptop mouse remote keyboard cellphone",
    "appliance": "microwave oven toaster sink refrigerator",
    "indoor": "book clock vase scissors teddy_bear hair_drier toothbrush",
}
OBJECT_CATEGORIES: dict[str, tuple[str, ...]] = {
    category: tuple(OBJECT_NAMES[name] for name in names.split()) for category, names in _CATEGORIES.items()}


def object_classes(name: str) -> tuple[str, ...] | None:
    """The detector classes an object or category name selects; None for an unknown name."""
    if name in OBJECT_CATEGORIES:
        return OBJECT_CATEGORIES[name]
    found = OBJECT_NAMES.get(name)
    return (found,) if found else None


FACE_FALLBACKS = ("north", "center", "auto")  # g_face / g_face:center / g_face:auto
CUSTOM_FALLBACKS = ("", "face", "faces")  # g_custom (centre) / g_custom:face / g_custom:faces
AUTO_FOCALS = ("", "face", "faces", "objects", "aoi", "none")


@dataclass(frozen=True)
class Gravity:
    """Where a crop centres or a layer goes, owned by no dialect.

    ``kind``: a compass word or ``xy_center`` (fixed places); ``face`` (the largest face)
    or ``faces`` (all of them) with a ``fallback`` when there is none (north, center,
    auto); ``custom`` (the largest stored custom box; ``fallback`` "" = centre, or a face
    gravity); ``region`` (the named region's box); ``object`` (the detected boxes of
    ``objects``, COCO classes; none found: centre); ``auto`` (stored custom box unless
    ``override`` is off, then the ``focal`` -- faces, objects or an ``aoi`` box -- then
    saliency; focal ``none``: saliency alone)."""

    kind: str
    fallback: str = ""
    objects: tuple[str, ...] = ()
    focal: str = ""
    box: tuple[int, ...] = ()  # aoi: x, y, w, h on the original
    region: str = ""
    override: bool = True

    @property
    def token(self) -> str:
        kind = self.kind
        if kind in ("face", "faces"):
            return kind if self.fallback in ("", "north") else f"{kind}:{self.fallback}"
        if kind == "custom":
            return "custom" + (f":{self.fallback}" if self.fallback else "")
        if kind == "region":
            return f"region_!{self.region}!"
        if kind == "object":
            return "object:" + ":".join(self.objects)
        if kind == "auto":
            parts = ["auto"]
            if self.focal in ("face", "faces", "none"):
                parts.append(self.focal)
            elif self.focal == "objects":
                parts.append("object:" + ":".join(self.objects))
            elif self.focal == "aoi":
                parts.append("aoi_" + "_".join(str(v) for v in self.box))
            if not self.override and self.focal not in ("none", "aoi"):
                parts.append("custom_no_override")
            return ":".join(parts)
        return kind

    @property
    def fixed(self) -> bool:
        """A place computed from sizes alone (no box to find)."""
        return self.kind in COMPASS or self.kind == "xy_center"

    @property
    def reads_faces(self) -> bool:
        if self.kind in ("face", "faces"):
            return True
        if self.kind == "custom":
            return self.fallback != ""
        return self.kind == "auto" and self.focal not in ("none", "aoi")

    @property
    def reads_custom(self) -> bool:
        if self.kind in ("face", "faces"):
            return self.fallback == "auto"  # no face: g_auto, which reads custom boxes first
        return self.kind == "custom" or (self.kind == "auto" and self.override and self.focal != "aoi")

    def __str__(self) -> str:
        return self.token


def plain_gravity(name: str) -> Gravity:
    """A compass word, xy_center, or one of the focus words without options."""
    if name in ("face", "faces"):
        return Gravity(name, "north")
    return Gravity(name)


@dataclass
class Env:
    """What expressions see: the original (iw, ih), the current image (w, h), the asset."""

    iw: float = 0
    ih: float = 0
    w: float = 0
    h: float = 0
    fc: float = 0
    pc: float = 1
    cp: float = 1
    tags: list[str] = field(default_factory=list)
    ctx: dict[str, str] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def ar(self) -> float:
        return self.w / self.h if self.h else 0.0

    @property
    def iar(self) -> float:
        return self.iw / self.ih if self.ih else 0.0
