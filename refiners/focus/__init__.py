"""Focus Area Refiner: an asset's faces, custom boxes and named regions, edited by hand.

The store is the assets layer's (assets.focus: parse, clip, save as revisions with 409
on a stale base, history), shared with the upload/explicit/update parameters;
`refiner` puts it on the refiner protocol (refiners.base), so the generic REST view
serves ``/v1_1/<cloud>/refiners/focus_areas/<type>/<public_id>``.  The engine reads the
values from the Asset row (g_face, g_custom, g_region_...); their cache keys hold them
(transforms.dependencies), so a save changes what every dependent URL delivers.  Its
screen is the Studio's studio.views_focus.
"""

from .refiner import FIELDS, NAME, REFINER  # noqa: F401
