"""Background Removal Refiner: hand-painted corrections of an asset's AI cut-out.

`store` holds the revisions (validate, save with 409 on a stale base, current, the
API's dict), `refiner` puts them on the refiner protocol (refiners.base); the pixels
(rasterising strokes, compositing the mask over the cut-out's alpha) are the engine's
(transforms.ops.mask).  Its screen is the Studio's studio.views_refiner.
"""

from transforms.ops.mask import MAX_DRAW_COST, apply, combine, mask_image, rasterise, supersampling  # noqa: F401

from .refiner import REFINER  # noqa: F401
from .store import (  # noqa: F401
    MAX_POINTS, MAX_STROKES, as_dict, clear, current, drop_other_versions, invalidate, mask_size, save,
    validate,
)
