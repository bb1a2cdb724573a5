"""transforms.cloudinary.variation.with_variation: a variation's seed (and prompt) written into
a transformation text reads back as exactly that variation of its last generative step
(the same stage options as stages.find with that seed and prompt), other components and
sub-parameters kept as written; a text without a generative step is a 400."""

from __future__ import annotations

import pytest

from core.errors import BadRequest
from transforms.ai import stages
from transforms.cloudinary.entry import from_text
from transforms.cloudinary.variation import with_variation

CASES = [
    ("ar_16:9,b_gen_fill,c_pad,w_160", 7, None, "ar_16:9,b_gen_fill:seed_7,c_pad,w_160"),
    ("b_gen_fill:seed_3,c_mpad,h_110,w_110", 12, None, "b_gen_fill:seed_12,c_mpad,h_110,w_110"),
    ("b_gen_fill:prompt_a cat;seed_3,c_pad,h_90,w_160/e_grayscale", 5, None,
     "b_gen_fill:seed_5;prompt_a cat,c_pad,h_90,w_160/e_grayscale"),
    ("b_gen_fill:ignore-foreground_false;seed_1,c_pad,h_90,w_160", -4, "bowls of cereal",
     "b_gen_fill:ignore-foreground_false;seed_-4;prompt_bowls of cereal,c_pad,h_90,w_160"),
    ("c_pad,b_gen_fill:prompt_some; test (123!),w_100,h_200", 9, "fruit; nuts",
     "c_pad,b_gen_fill:seed_9;prompt_fruit; nuts,w_100,h_200"),
    ("e_grayscale/ar_1:1,b_gen_fill,c_pad,w_90/ar_16:9,b_gen_fill:seed_2,c_pad,w_160", 8, None,
     "e_grayscale/ar_1:1,b_gen_fill,c_pad,w_90/ar_16:9,b_gen_fill:seed_8,c_pad,w_160"),
    # the generative effects (transforms.ai.geneffects)
    ("e_gen_remove:prompt_(dog;cat);multiple_true", 4, None, "e_gen_remove:multiple_true;seed_4;prompt_(dog;cat)"),
    ("c_scale,w_100/e_gen_remove:region_((x_1;y_2;w_30;h_20))", 6, None,
     "c_scale,w_100/e_gen_remove:region_((x_1;y_2;w_30;h_20));seed_6"),
    ("e_gen_background_replace", 3, None, "e_gen_background_replace:seed_3"),
    ("e_gen_background_replace:prompt_a beach;seed_2", 11, "a forest", "e_gen_background_replace:seed_11;prompt_a forest"),
]


@pytest.mark.parametrize("text, seed, prompt, expected", CASES)
def test_written_and_read_back(text, seed, prompt, expected, settings):
    settings.DAM_IMAGE_EDIT_URL = "http://127.0.0.1:9/v1/images/edits"  # e_gen_background_replace needs one to parse
    written = with_variation(text, seed, prompt)
    assert written == expected
    want = stages.find(from_text(text), seed=seed, prompt=prompt)[2].canonical
    assert stages.find(from_text(written), choose=False)[2].canonical == want


def test_a_text_without_a_generative_step_is_400():
    with pytest.raises(BadRequest, match="no generative step"):
        with_variation("c_fill,w_50/e_sepia", 1)


@pytest.mark.parametrize("text", ["e_gen_restore", "e_gen_recolor:prompt_cup;to-color_58d68d"])
def test_a_step_without_a_seed_in_its_syntax_has_no_variation_url(text):
    """e_gen_restore and e_gen_recolor take no seed (their pixels do not depend on one): their
    variations cannot be written into a URL, so the refiner offers none (tests/refiners/test_refiner_generative_api.py)."""
    with pytest.raises(BadRequest, match="no parameters|'seed'"):
        from_text(with_variation(text, 5))
