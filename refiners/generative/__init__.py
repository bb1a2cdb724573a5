"""The Generative AI Refiner: variations of a generative step (b_gen_fill, e_gen_*) and the
one chosen as the standard result of a literal transformation text.

`store` holds the batches and choices and the chooser that transforms.ai.stages asks at
every delivery of a generative step (installed in refiners.apps); `views` is its REST API
(``/v1_1/<cloud>/refiners/generative/<type>/<public_id>[/variations[/<id>]]``, Admin API
auth).  The pixels are the lifecycle's stored AI results; the Studio screen is
studio.views_generative.  It is not on the generic refiner protocol (refiners.base): its
data is keyed by transformation text, and the choice reaches renders through the stage
chooser and the ``generative`` dependency, not through an override.
"""

from .store import (  # noqa: F401
    MAX_PER_CALL, MAX_PER_TRANSFORMATION, TooMany, batch, batch_dict, choose, chooser, chosen, chosen_dict,
    drop_other_versions, generate, label_of, plan_of, preview_token, step_of, unchoose, url_of, variation_text,
)
