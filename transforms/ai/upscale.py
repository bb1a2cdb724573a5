"""``e_upscale``: x4 each side by a local super-resolution model (Cloudinary's and ImageKit's e-upscale).

A stage producer (transforms.ai.stages), so it may follow other steps (``c_scale,w_300/e_upscale``):
its input is the image at its step; the first request answers 423 while a worker makes it, then the
stored result is delivered.  The model is UpscalerJS's ESRGAN-slim x4 (an RDN, MIT; ``DAM_UPSCALE_MODEL``,
fetched and converted to ONNX by ``manage.py fetch_models``: transforms.ai.weights.UPSCALE): RGB
0..255 in and out, NCHW.  Its direct x4 beats x2 twice (PSNR on skimage photos, 3x faster: bench/README.md).

- Bounds: the input must be under `MAX_INPUT_PIXELS` (Cloudinary: 4.2 MP) and x16 of it within
  ``DAM_MAX_OUTPUT_PIXELS``; both 400.  Checked before anything is queued when the size at the step is
  known from the asset and geometry-only steps before it (`check_request`), else by the worker.
- Memory: the model runs on `TILE`-pixel tiles, each with `MARGIN` pixels of context on every side
  (more than the network's receptive field of about 10 input pixels), keeping only each tile's own
  output: the same pixels as one whole-image run, without seams, at a bounded peak (bench/README.md).
- Transparency: the colour of the (nearly) transparent pixels is replaced by that of the nearest opaque
  one before the model runs (no white or hidden colour is drawn into the edges), the alpha upscaled with
  Lanczos and kept.
- No seed or prompt changes the result (deterministic); a variation's prompt is a 400.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyvips

from core.errors import BadRequest
from transforms import limits, pipeline
from transforms.geometry import compute
from transforms.plan import Action

from . import producers, stages, weights

SCALE = 4
MAX_INPUT_PIXELS = 4_200_000  # Cloudinary: e_upscale accepts images under 4.2 megapixels
TILE = 96  # input pixels a side per model run: 1 MP peaks near 300 MB RSS (128: 470 MB; bench/README.md)
MARGIN = 12  # input pixels of context around each tile (receptive field: about 10)
SOLID = 32  # alpha from which a pixel's own colour is recovered from its flattened one (else: bled)


@dataclass(frozen=True)
class UpscaleOptions:
    seed: int | None = None  # no effect (deterministic); kept for the stage protocol
    prompt: str = ""

    @property
    def canonical(self) -> str:
        return ""


def parse(args, qualifiers) -> UpscaleOptions:
    if any(args):
        raise BadRequest(f"Invalid e_upscale: it takes no parameters ({':'.join(args)!r})")
    return UpscaleOptions()


def check_size(width: int, height: int) -> None:
    """400 for an input of width x height that e_upscale refuses (too large, or its output would be)."""
    if width * height >= MAX_INPUT_PIXELS:
        raise BadRequest(f"e_upscale needs an image under {MAX_INPUT_PIXELS / 1e6:.1f} megapixels; "
                         f"this one is {width}x{height}")
    out = width * SCALE * height * SCALE
    if out > limits.max_output_pixels():
        raise BadRequest(f"e_upscale of a {width}x{height} image would make {width * SCALE}x{height * SCALE} "
                         f"pixels, more than the {limits.max_output_pixels()} allowed (DAM_MAX_OUTPUT_PIXELS)")


def _run(tile: np.ndarray) -> np.ndarray:
    """The model's x4 of an HxWx3 float32 tile (0..255) as HxWx3 float32."""
    out = weights.run(weights.UPSCALE, ["output"], {"input": tile.transpose(2, 0, 1)[None]})[0]
    return out[0].transpose(1, 2, 0)


def upscale_rgb(rgb: np.ndarray, tile: int = TILE, margin: int = MARGIN) -> np.ndarray:
    """HxWx3 uint8 -> 4Hx4Wx3 uint8, tile by tile with `margin` pixels of context."""
    height, width = rgb.shape[:2]
    out = np.empty((height * SCALE, width * SCALE, 3), np.uint8)
    step_y = math.ceil(height / math.ceil(height / tile))  # tiles of even sizes: no thin one at the edge
    step_x = math.ceil(width / math.ceil(width / tile))
    for y0 in range(0, height, step_y):
        for x0 in range(0, width, step_x):
            y1, x1 = min(height, y0 + step_y), min(width, x0 + step_x)
            cy0, cx0 = max(0, y0 - margin), max(0, x0 - margin)
            cy1, cx1 = min(height, y1 + margin), min(width, x1 + margin)
            made = _run(rgb[cy0:cy1, cx0:cx1].astype(np.float32))
            keep = made[(y0 - cy0) * SCALE:(y1 - cy0) * SCALE, (x0 - cx0) * SCALE:(x1 - cx0) * SCALE]
            out[y0 * SCALE:y1 * SCALE, x0 * SCALE:x1 * SCALE] = np.clip(np.rint(keep), 0, 255)
    return out


def _sized(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    out = image.resize(width / image.width, vscale=height / image.height, kernel="lanczos3")
    out = out.crop(0, 0, min(width, out.width), min(height, out.height))
    return out.embed(0, 0, width, height, extend="copy")


def _bled(flat: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The colour of a flattened-on-white image under `alpha`, recovered where the alpha is at least
    `SOLID` (255 + (flat - 255) / share) and elsewhere the colour of the nearest such pixel: what lies
    under transparency then continues the edge, so the model draws no white fringe into the subject."""
    from scipy import ndimage  # only for images with transparency

    share = alpha.astype(np.float32)[:, :, None] / 255.0
    known = alpha >= SOLID
    if not known.any():
        return flat
    colour = np.clip(255.0 + (flat.astype(np.float32) - 255.0) / np.maximum(share, SOLID / 255), 0, 255)
    _, (iy, ix) = ndimage.distance_transform_edt(~known, return_indices=True)
    return np.rint(colour[iy, ix]).astype(np.uint8)


def upscale(image: pyvips.Image, alpha: pyvips.Image | None = None) -> pyvips.Image:
    """`image` (sRGB uchar 3 bands, flattened on white when `alpha` is given) x4; with `alpha`, its
    colour first bled under the transparency (`_bled`), the alpha upscaled by Lanczos and kept."""
    rgb = np.ascontiguousarray(image.numpy()[:, :, :3])
    if alpha is None or alpha.min() == 255:
        return pyvips.Image.new_from_array(upscale_rgb(rgb), interpretation="srgb")
    a = alpha.numpy()
    a = a[:, :, 0] if a.ndim == 3 else a
    big = upscale_rgb(np.ascontiguousarray(_bled(rgb, a)))
    big_alpha = _sized(alpha, big.shape[1], big.shape[0]).numpy()
    big_alpha = big_alpha[:, :, 0] if big_alpha.ndim == 3 else big_alpha
    rgba = np.dstack([big, big_alpha.astype(np.uint8)])
    return pyvips.Image.new_from_array(rgba, interpretation="srgb")


def _input_size(asset, plan, index: int, producer: stages.StageProducer) -> tuple[int, int] | None:
    """The size of the image e_upscale gets (after its own step's geometry), when only geometry steps
    come before it; None when some other step might change it (the worker checks then)."""
    steps = list(plan.steps[:index]) + [producer.geometry_only(plan.steps[index])]
    width, height = asset.width, asset.height
    if not width or not height:
        return None
    state = pipeline.State(asset, limits.Budget(), width, height)
    for step in steps:
        if not isinstance(step, Action) or step != producer.geometry_only(step) or step.assignments:
            return None
        if not step.resizes:
            continue
        canvas = pyvips.Image.black(width, height)  # lazy: only its size is read
        try:
            geometry = compute(width, height, pipeline.request(step, canvas, state))
        except (BadRequest, ValueError, TypeError, AttributeError):
            return None
        width, height = geometry.out_size
    return width, height


class Upscale(stages.StageProducer):
    kind = "upscale"
    label = "Upscale"
    takes_prompt = False
    needs_opaque = False  # the alpha is upscaled and kept
    changes_alpha = True

    def parse(self, args, qualifiers) -> UpscaleOptions:
        return parse(args, qualifiers)

    def models_needed(self, options) -> tuple:
        return (weights.UPSCALE,)

    def check_request(self, asset, plan, index: int) -> None:
        size = _input_size(asset, plan, index, self)
        if size is not None:
            check_size(*size)

    def generate(self, stage: stages.StageInput) -> producers.Produced:
        if stage.prompt:
            raise BadRequest(f"{self.label} takes no prompt")
        check_size(stage.image.width, stage.image.height)
        out = upscale(stage.image, stage.alpha)
        return producers.Produced(out, {"scale": SCALE, "model": weights.UPSCALE.name,
                                        "input": [stage.image.width, stage.image.height]})


UPSCALE = producers.register(Upscale())
