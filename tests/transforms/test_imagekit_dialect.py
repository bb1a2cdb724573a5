"""ImageKit's transformation grammar (``tr:``) read into the engine's Plan (issue 16, item 3):
every row of the mapping table against its Cloudinary twin (equal `Plan.key`, so one
derived-cache entry), chained steps, layers, named transformations, errors (unknown keys,
bad values, two AI operations in a step, injection attempts), the canonical text, and
renders showing an ImageKit URL's plan and its Cloudinary twin share one DerivedImage row."""

from __future__ import annotations

import base64
import random
from urllib.parse import quote

import numpy as np
import pytest
import pyvips

from assets.models import Asset
from core.errors import BadRequest
from tests.conftest import make_image
from transforms import derived
from transforms.cloudinary import named
from transforms.cloudinary.entry import from_text
from transforms.imagekit import entry
from transforms.imagekit.entry import from_steps, is_original
from transforms.models import DerivedImage
from transforms.ops import registry
from transforms.ops.layers import ImageSource, TextSource


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- the equivalence table -----------------------------------------------------------------

# (ImageKit tr, its Cloudinary twin): one row per line of the mapping table at least.
TABLE = [
    # sizes
    ("w-300", "w_300"),
    ("h-200", "h_200"),
    ("w-0.5", "w_0.5"),
    ("h-0.25", "h_0.25"),
    ("w-300,h-200", "c_fill,w_300,h_200"),
    ("h-200,w-300", "c_fill,h_200,w_300"),
    ("dpr-2,w-100", "dpr_2,w_100"),
    ("w-iw_div_2", "w_iw_div_2"),
    ("w-ih", "w_ih"),
    ("h-ih_mul_0.5", "h_ih_mul_0.5"),
    ("w-cw_sub_10,h-ch_add_5", "c_fill,w_w_sub_10,h_h_add_5"),
    ("w-iw_mul_2_div_3", "w_iw_mul_2_div_3"),
    ("q-80", "q_80"),
    ("o-50,w-100", "o_50,w_100"),
    ("ar-4-3,w-400", "ar_4:3,c_fill,w_400"),
    ("ar-16-9,h-90", "ar_16:9,c_fill,h_90"),
    # c- (resize strategies)
    ("c-maintain_ratio,w-300,h-200", "c_fill,w_300,h_200"),
    ("c-maintain_ratio,w-300", "w_300"),
    ("c-force,w-300,h-200", "c_scale,w_300,h_200"),
    ("c-at_max,w-300,h-200", "c_limit,w_300,h_200"),
    ("c-at_max_enlarge,w-300,h-200", "c_fit,w_300,h_200"),
    ("c-at_least,w-300,h-200", "c_mfit,w_300,h_200"),
    # cm- (crop strategies)
    ("cm-pad_resize,w-300,h-200", "c_pad,w_300,h_200"),
    ("cm-pad_resize,w-300,h-200,bg-FF0000", "c_pad,w_300,h_200,b_rgb:FF0000"),
    ("cm-extract,w-100,h-80", "c_crop,w_100,h_80"),
    ("cm-extract,w-100,h-80,x-10,y-20", "c_crop,w_100,h_80,x_10,y_20"),
    ("cm-extract,w-100,h-80,xc-50,yc-40", "c_crop,g_xy_center,w_100,h_80,x_50,y_40"),
    ("cm-pad_extract,w-300,h-200", "c_crop,w_300,h_200/c_pad,w_300,h_200"),
    ("cm-pad_extract,w-300,h-200,bg-white", "c_crop,w_300,h_200/b_white,c_pad,w_300,h_200"),
    # fo- (focus)
    ("fo-center,w-300,h-200", "c_fill,g_center,w_300,h_200"),
    ("fo-top,w-300,h-200", "c_fill,g_north,w_300,h_200"),
    ("fo-left,w-300,h-200", "c_fill,g_west,w_300,h_200"),
    ("fo-bottom,w-300,h-200", "c_fill,g_south,w_300,h_200"),
    ("fo-right,w-300,h-200", "c_fill,g_east,w_300,h_200"),
    ("fo-top_left,w-300,h-200", "c_fill,g_north_west,w_300,h_200"),
    ("fo-top_right,w-300,h-200", "c_fill,g_north_east,w_300,h_200"),
    ("fo-bottom_left,w-300,h-200", "c_fill,g_south_west,w_300,h_200"),
    ("fo-bottom_right,w-300,h-200", "c_fill,g_south_east,w_300,h_200"),
    ("fo-auto,w-200,h-300", "c_fill,g_auto,w_200,h_300"),
    ("fo-face,w-150,h-150", "c_thumb,g_face,w_150,h_150"),
    ("fo-face,w-150,h-150,z-0.75", "c_thumb,g_face,w_150,h_150,z_0.75"),
    ("fo-dog,w-150,h-150", "c_thumb,g_dog,w_150,h_150"),
    ("fo-car,w-150,h-150,z-1.2", "c_thumb,g_car,w_150,h_150,z_1.2"),
    ("fo-custom,w-150,h-150", "c_fill,g_custom,w_150,h_150"),
    ("cm-extract,fo-face,w-150,h-150", "c_crop,g_face,w_150,h_150"),
    ("cm-pad_resize,fo-left,w-300,h-200", "c_pad,g_west,w_300,h_200"),
    # format, quality, progressive
    ("f-auto", "f_auto"),
    ("f-webp,q-70", "f_webp,q_70"),
    ("f-jpg", "f_jpg"),
    ("f-png", "f_png"),
    ("f-avif", "f_avif"),
    ("pr-true", "fl_progressive"),
    # backgrounds, borders, corners, rotation, flips
    ("bg-272B38,cm-pad_resize,w-300,h-200", "b_rgb:272b38,c_pad,w_300,h_200"),
    ("bg-red,cm-pad_resize,w-300,h-200", "b_red,c_pad,w_300,h_200"),
    ("bg-FF000080,cm-pad_resize,w-300,h-200", "b_rgb:ff000080,c_pad,w_300,h_200"),
    ("bg-dominant,cm-pad_resize,w-300,h-200", "b_auto:predominant,c_pad,w_300,h_200"),
    ("b-5_FFF000", "bo_5px_solid_rgb:FFF000"),
    ("r-20", "r_20"),
    ("r-max", "r_max"),
    ("r-10_20_30_40", "r_10:20:30:40"),
    ("rt-90", "a_90"),
    ("rt-N45", "a_-45"),
    ("fl-h", "a_hflip"),
    ("fl-v", "a_vflip"),
    ("fl-h_v", "a_hflip.vflip"),
    ("rt-90,fl-h", "a_90.hflip"),
    # effects
    ("bl-10", "e_blur:100"),
    ("e-grayscale", "e_grayscale"),
    ("e-contrast", "e_auto_contrast"),
    ("e-sharpen", "e_sharpen"),
    ("e-sharpen-10", "e_sharpen:10"),
    ("e-usm-2-2-0.8-0.024", "e_unsharp_mask:80"),
    ("e-shadow", "e_shadow"),
    ("e-shadow-st-40_x-10_y-N5", "e_shadow:40,x_10,y_-5"),
    ("t-true", "e_trim"),
    ("t-20", "e_trim:20"),
    ("w-300,e-grayscale", "w_300/e_grayscale"),
    ("e-grayscale,e-sharpen,w-300", "w_300/e_grayscale/e_sharpen"),
    ("t-true,w-300", "e_trim/w_300"),
    # chained steps
    ("h-300,w-400:rt-90", "c_fill,h_300,w_400/a_90"),
    ("w-300:e-grayscale:r-max", "w_300/e_grayscale/r_max"),
    ("cm-extract,w-100,h-100:w-50", "c_crop,w_100,h_100/w_50"),
    # AI operations the engine has today
    ("e-removedotbg", "e_background_removal"),
    ("e-bgremove", "e_background_removal"),
    ("e-bgremove,w-300", "e_background_removal/w_300"),
    ("bg-genfill,w-1000,h-960,cm-pad_resize", "b_gen_fill,c_pad,w_1000,h_960"),
    ("bg-genfill-prompt-flowers,w-1000,h-960,cm-pad_resize", "b_gen_fill:prompt_flowers,c_pad,w_1000,h_960"),
    (f"bg-genfill-prompte-{b64('red flowers')},w-100,h-96,cm-pad_resize",
     "b_gen_fill:prompt_red flowers,c_pad,w_100,h_96"),
    ("bg-genfill,w-100,h-96,cm-pad_extract", "c_crop,w_100,h_96/b_gen_fill,c_pad,w_100,h_96"),
    # layers
    ("l-image,i-logo.png,l-end", "l_logo/fl_layer_apply.no_overflow"),
    ("l-image,i-customer@@logo.png,l-end", "l_customer:logo/fl_layer_apply.no_overflow"),
    ("l-image,i-customer@@logo.png,lx-10,ly-20,l-end", "l_customer:logo/fl_layer_apply.no_overflow,g_north_west,x_10,y_20"),
    ("l-image,i-logo.png,lx-N10,ly-20,l-end", "l_logo/fl_layer_apply.no_overflow,g_north_west,x_-10,y_20"),
    ("l-image,i-logo.png,ly-N20,l-end", "l_logo/fl_layer_apply.no_overflow,g_north_west,y_-20"),
    ("l-image,i-a.png,w-100,l-image,i-b.png,w-20,lx-5,ly-5,l-end,l-end",
     "l_a,w_100/l_b,w_20,fl_layer_apply.no_overflow,g_north_west,x_5,y_5/fl_layer_apply.no_overflow"),
    ("l-image,i-a.png,l-text,i-Hi,co-red,lfo-bottom,l-end,lfo-top_right,l-end",
     "l_a/co_red,fl_layer_apply.no_overflow,g_south,l_text:Arial_14:Hi/fl_layer_apply.no_overflow,g_north_east"),
    ("l-image,i-a.png,l-image,i-b.png,w-bw_mul_0.5,l-end,l-end", "l_a/l_b,w_0.5,fl_layer_apply.no_overflow.relative/fl_layer_apply.no_overflow"),
    ("l-image,i-logo.png,lfo-bottom_right,l-end", "l_logo/fl_layer_apply.no_overflow,g_south_east"),
    ("l-image,i-logo.png,lfo-top,l-end", "l_logo/fl_layer_apply.no_overflow,g_north"),
    (f"l-image,ie-{b64('customer/logo.png')},l-end", "l_customer:logo/fl_layer_apply.no_overflow"),
    ("h-300,w-400,l-image,i-overlay.jpg,w-100,b-10_CDDC39,l-end",
     "c_fill,h_300,w_400/bo_10px_solid_rgb:CDDC39,l_overlay,w_100/fl_layer_apply.no_overflow"),
    ("l-image,i-logo.png,w-100,h-50,rt-90,bg-blue,l-end", "l_logo,c_fill,w_100,h_50,a_90,b_blue/fl_layer_apply.no_overflow"),
    ("l-image,i-logo.png,w-100,e-grayscale,l-end", "l_logo,w_100/e_grayscale/fl_layer_apply.no_overflow"),
    ("l-image,i-logo.png,w-bw_mul_0.5,l-end", "l_logo,w_0.5,fl_relative/fl_layer_apply.no_overflow"),
    ("w-300,l-image,i-a.png,l-end,l-image,i-b.png,lfo-top_left,l-end",
     "w_300/l_a/fl_layer_apply.no_overflow/l_b/fl_layer_apply.no_overflow,g_north_west"),
    ("l-text,i-Hi,fs-20,co-0000ff,l-end", "l_text:Arial_20:Hi,co_rgb:0000ff/fl_layer_apply.no_overflow"),
    ("l-text,i-Hi,l-end", "l_text:Arial_14:Hi/fl_layer_apply.no_overflow"),
    ("l-text,i-Hi,ff-Roboto,fs-30,tg-b_i,l-end", "l_text:Roboto_30_bold_italic:Hi/fl_layer_apply.no_overflow"),
    ("l-text,i-Hello%20world,bg-yellow,pa-10,lx-5,ly-5,l-end",
     "l_text:Arial_14:Hello world,b_yellow,bo_10px_solid_yellow/fl_layer_apply.no_overflow,g_north_west,x_5,y_5"),
    ("l-text,i-long%20text,w-200,l-end", "l_text:Arial_14:long text,c_fit,w_200/fl_layer_apply.no_overflow"),
    (f"l-text,ie-{b64('a, b')},l-end", "l_text:Arial_14:a%2C b/fl_layer_apply.no_overflow"),
    ("l-image,i-ik_canvas,bg-FF0000,w-50,h-40,l-end",
     "l_text:Arial_14:.,co_rgb:00000000,b_rgb:ff0000,c_scale,w_50,h_40/fl_layer_apply.no_overflow"),
    ("l-image,i-ik_canvas,bg-FF0000,l-end",
     "l_text:Arial_14:.,co_rgb:00000000,b_rgb:ff0000,c_scale,w_1.0,h_1.0,fl_relative/fl_layer_apply.no_overflow"),
]


@pytest.mark.parametrize("ik,cld", TABLE, ids=[row[0][:60] for row in TABLE])
def test_each_imagekit_parameter_means_its_cloudinary_twin(ik, cld):
    mine = from_steps(ik, "jpg")
    twin = from_text(cld, "jpg")
    assert mine.key == twin.key
    assert (mine.format, mine.explicit_format, mine.quality) == (twin.format, twin.explicit_format, twin.quality)
    assert from_text(mine.transformation, "jpg").key == mine.key  # the row's text is Cloudinary's, same meaning


def test_the_query_form_and_the_path_form_are_the_same_text():
    assert from_steps("h-300,w-400:rt-90", None).key == from_text("c_fill,h_300,w_400/a_90").key


def test_the_extension_gives_the_format_unless_f_names_one():
    assert from_steps("w-10", "png").format == "png"
    assert from_steps("w-10,f-webp", "png").format == "webp"


def test_f_orig_and_rt_auto_mean_the_default():
    assert from_steps("w-10,f-orig", "jpg").key == from_text("w_10").key
    assert from_steps("w-10,rt-auto", "jpg").key == from_text("w_10").key
    assert from_steps("w-10,pr-false", "jpg").key == from_text("w_10").key


# --- canonical text ---------------------------------------------------------------------------


def test_the_canonical_text_is_stable_under_parameter_order():
    a = from_steps("w-300,h-200,fo-top:rt-90", None)
    b = from_steps("fo-top,h-200,w-300:rt-90", None)
    assert entry.canonical("w-300,h-200,fo-top:rt-90") == entry.canonical("fo-top,h-200,w-300:rt-90") \
        == "tr:fo-top,h-200,w-300:rt-90"
    assert a.transformation == b.transformation
    assert a.key == b.key


def test_the_canonical_text_keeps_the_order_of_effects_layers_and_steps():
    assert entry.canonical("e-sharpen,w-10,e-grayscale") == "tr:w-10,e-sharpen,e-grayscale"
    assert entry.canonical("e-shadow,bl-5,w-10") == "tr:w-10,e-shadow,bl-5"  # bl is an effect: order is meaning
    assert from_steps("e-shadow,bl-5", None).key != from_steps("bl-5,e-shadow", None).key
    assert entry.canonical("l-image,lx-5,i-b.png,l-end,w-10,l-image,i-a.png,l-end") == \
        "tr:w-10,l-image,i-b.png,lx-5,l-end,l-image,i-a.png,l-end"
    assert entry.canonical("rt-90:w-10") == "tr:rt-90:w-10"
    assert from_steps("rt-90:w-10", None).key != from_steps("w-10:rt-90", None).key


def test_the_literal_is_the_cloudinary_components_a_worker_rereads():
    plan = from_steps("h-200,w-300:e-grayscale", None)
    assert from_text(plan.literal).key == plan.key


# --- named transformations ----------------------------------------------------------------------


@pytest.mark.django_db
def test_n_is_a_named_transformation():
    named.create("thumb-ik", "c_fill,w_50,h_50/e_sepia")
    plan = from_steps("n-thumb-ik", None)
    assert plan.key == from_text("t_thumb-ik").key == from_text("c_fill,w_50,h_50/e_sepia").key
    assert plan.named == ("thumb-ik",)
    assert from_steps("n-thumb-ik:rt-90", None).key == from_text("t_thumb-ik/a_90").key


@pytest.mark.django_db
def test_an_unknown_name_is_a_400():
    with pytest.raises(BadRequest, match="Unknown named transformation: nothere"):
        from_steps("n-nothere", None)


# --- orig-true ------------------------------------------------------------------------------


def test_orig_true_alone_is_the_original():
    assert is_original("orig-true")
    assert not is_original("orig-false")
    assert not is_original("w-100")
    assert not is_original("")
    assert from_steps("orig-false", None).steps == ()
    with pytest.raises(BadRequest, match="original"):
        from_steps("orig-true", None)


@pytest.mark.parametrize("tr", ["orig-true,w-100", "w-100,orig-true", "w-100:orig-true", "orig-false,w-10"])
def test_orig_with_anything_else_is_a_400(tr):
    assert not is_original(tr)
    with pytest.raises(BadRequest, match="orig"):
        from_steps(tr, None)


def test_orig_takes_true_or_false():
    with pytest.raises(BadRequest, match="orig"):
        is_original("orig-yes")


# --- errors -------------------------------------------------------------------------------------

ERRORS = [
    ("xx-1", "Unknown ImageKit transformation parameter: xx"),
    ("w-100,zz-3", "Unknown ImageKit transformation parameter: zz"),
    ("l-image,i-a.png,fs-10,qq-1,l-end", "Unknown ImageKit transformation parameter in a layer: qq"),
    ("l-image,i-a.png,q-10,l-end", "in a layer: q"),
    ("di-default.jpg", "di \\(default image\\) is not supported"),
    ("lo-true", "lo \\(lossless\\)"),
    ("w", "Missing value for ImageKit transformation parameter: w"),
    ("w-", "Missing value"),
    ("", "Empty"),
    ("w-10::h-10", "empty step"),
    ("W-10", "Invalid ImageKit transformation parameter"),
    ("w-abc", "Invalid ImageKit value for w"),
    ("w-0", "greater than 0"),
    ("w-300.5", "whole number of pixels"),
    ("w-auto", "client hints"),
    ("w-iw_div", "an expression such as"),
    ("w-iw_root_2", "unknown operator"),
    ("w-zz_div_2", "unknown operand"),
    ("w-bw_div_2", "bw is only supported in a layer"),
    ("w-10,w-20", "given twice"),
    ("ar-4_3,w-10", "Invalid ImageKit value for ar"),
    ("ar-4:3,w-10", "Invalid ImageKit transformation parameter: '3'"),
    ("c-stretch,w-10", "Invalid ImageKit value for c"),
    ("cm-pad,w-10", "Invalid ImageKit value for cm"),
    ("c-force,cm-extract,w-10,h-10", "c and cm cannot be used together"),
    ("fo-middle,w-10,h-10", "Invalid ImageKit value for fo"),
    ("x-10,w-10,h-10", "need cm-extract"),
    ("q-0", "Invalid ImageKit value for q"),
    ("q-101", "Invalid ImageKit value for q"),
    ("f-exe", "Invalid ImageKit value for f"),
    ("dpr-9", "Invalid ImageKit value for dpr"),
    ("rt--45", "Invalid ImageKit value for rt"),
    ("rt-400", "Invalid ImageKit value for rt"),
    ("fl-x", "Invalid ImageKit value for fl"),
    ("bg-notacolour", "Invalid color"),
    ("bg-12345", "Invalid ImageKit value for bg"),
    ("b-5", "Invalid ImageKit value for b"),
    ("b-0_FF0000", "Invalid ImageKit value for b"),
    ("r-a", "Invalid ImageKit value for r"),
    ("bl-0", "Invalid ImageKit value for bl"),
    ("bl-101", "Invalid ImageKit value for bl"),
    ("o-101", "Invalid ImageKit value for o"),
    ("t-100", "Invalid ImageKit value for t"),
    ("pr-yes", "Invalid ImageKit value for pr"),
    ("e-sepia", "Unknown ImageKit effect: e-sepia"),
    ("e-grayscale-5", "takes no value"),
    ("e-sharpen-0", "e-sharpen"),
    ("e-usm-2-2", "e-usm"),
    ("e-shadow-bl-15", "bl"),
    ("e-shadow-zz-1", "unknown sub-parameter zz"),
    ("e-gradient", "Unsupported ImageKit effect: e-gradient"),
    ("e-edit-prompt-hat", "e-edit"),
    ("e-dropshadow-az-400", "e-dropshadow az"),
    ("e-dropshadow-qq-4", "unknown sub-parameter qq"),
    ("e-changebg", "e-changebg-prompt"),
    ("bg-genfill,w-100,h-100", "bg-genfill needs w, h and cm-pad_resize"),
    ("bg-genfill,cm-pad_resize,w-100", "bg-genfill needs w, h"),
    ("bg-genfill-prompt-,w-100,h-100,cm-pad_resize", "Invalid ImageKit prompt"),
    ("l-image,l-end", "needs exactly one i-"),
    ("l-image,i-a.png,i-b.png,l-end", "needs exactly one i-"),
    ("l-image,i-a.png", "closed with l-end"),
    ("l-image,i-a.png,lx-10_5,l-end", "Invalid ImageKit value for lx"),
    ("l-image,i-a.png,l-image,i-b.png,l-image,i-c.png,l-end,l-end,l-end", "nested deeper than 2"),
    ("l-image,i-a.png,l-image,i-b.png,e-grayscale,l-end,l-end", "nested ImageKit layer may only size and place"),
    ("l-image,i-a.png,l-image,i-b.png,w-10,h-10,fo-top,l-end,l-end", "nested ImageKit layer cannot use fo"),
    ("l-image,i-a.png,l-image,i-b.png,l-end", "closed with l-end"),
    ("l-end", "l-end without a layer"),
    ("l-video,i-a.mp4,l-end", "video"),
    ("l-shape,i-a,l-end", "Invalid ImageKit value for l"),
    ("l-image,i-a.png,lx-5,lfo-top,l-end", "lfo cannot be combined"),
    ("l-image,i-a.png,lx-bw_mul_0.5,l-end", "arithmetic expressions"),
    ("l-image,i-a.png,w-bh_mul_0.5,l-end", "bw_mul"),
    ("l-image,i-ik_canvas,l-end", "needs bg-"),
    ("l-text,i-%20,l-end", "non-empty"),
    ("l-text,i-Hi,fs-0,l-end", "Invalid ImageKit value for fs"),
    ("l-text,i-Hi,ff-Ar_ial,l-end", "Invalid ImageKit value for ff"),
    ("l-text,i-Hi,tg-u,l-end", "Invalid ImageKit value for tg"),
    ("l-text,ie-@@@,l-end", "base64"),
    ("l-text,i-%FF,l-end", "not UTF-8"),
    ("n-a%2Fb", "Invalid transformation name"),
    ("z-0.5,w-10,h-10", "z \\(zoom\\) needs fo-face"),
    ("fo-top", "fo-top needs w, h or ar"),
    ("cm-extract,fo-top", "cm-extract and fo-top need w, h or ar"),
    ("c-force", "c-force needs w, h or ar"),
    ("c-force,fo-top,w-10,h-10", "fo cannot be used with c-force"),
    ("cm-extract,c-at_max,w-10", "c and cm cannot be used together"),
    ("fo-face,e-bgremove", "fo-face needs w, h or ar"),
    ("c-maintain_ratio,w-10,f-png,l-image,i-a.png,f-jpg,l-end", "in a layer: f"),
    ("w-10:e-bgremove", "the ImageKit transformation reads as 'w_10/e_background_removal'"),
]


@pytest.mark.parametrize("tr,message", ERRORS, ids=[row[0] or "empty" for row in ERRORS])
def test_bad_input_is_a_400_naming_it(tr, message):
    with pytest.raises(BadRequest, match=message):
        from_steps(tr, "jpg")


def test_random_combinations_give_a_plan_or_a_400_and_the_canonical_text_means_the_same():
    """A fixed-seed sweep over combinations of valid parameters: every one is a plan or a
    BadRequest (never another exception), and a plan's canonical text and its Cloudinary
    literal read back to the same meaning."""
    tokens = ["w-300", "h-200", "w-0.5", "ar-4-3", "c-force", "c-at_max", "c-at_least", "cm-extract", "cm-pad_resize",
              "cm-pad_extract", "fo-face", "fo-auto", "fo-top", "fo-dog", "z-0.5", "x-10", "y-N5", "xc-10", "dpr-2",
              "q-50", "f-png", "o-50", "bg-red", "bg-dominant", "bg-genfill", "b-3_000000", "r-10", "r-max", "rt-90",
              "fl-h", "bl-5", "t-true", "pr-true", "e-grayscale", "e-sharpen-5", "e-shadow", "e-usm-1-1-1-0",
              "e-bgremove", "e-contrast", "l-image,i-a.png,w-50,l-end", "l-text,i-Hi%2C%20you,fs-20,co-red,l-end",
              "l-image,i-ik_canvas,bg-blue,w-10,h-10,lx-N5,l-end", "w-iw_div_2", "h-ch_mul_0.5",
              "l-image,i-a.png,w-bw_mul_0.3,lfo-bottom,e-grayscale,l-end"]
    rng = random.Random(16)
    planned = 0
    for _ in range(600):
        tr = ":".join(",".join(rng.sample(tokens, rng.randint(1, 4))) for _ in range(rng.randint(1, 3)))
        try:
            plan = from_steps(tr, "jpg")
        except BadRequest:
            continue
        planned += 1
        assert from_text(plan.literal, "jpg").key == plan.key, tr
        assert from_text(plan.transformation, "jpg").key == plan.key, tr
        assert from_steps(entry.canonical(tr)[3:], "jpg").key == plan.key, tr
    assert planned > 50


def test_too_long_or_too_many_steps_is_a_400():
    with pytest.raises(BadRequest, match="too long"):
        from_steps("w-10," * 3000, None)
    with pytest.raises(BadRequest, match="Too many ImageKit transformation steps"):
        from_steps(":".join(["e-grayscale"] * 50), None)


def test_prompted_ai_operations_mean_their_cloudinary_twin(settings):
    settings.DAM_IMAGE_EDIT_URL = "http://127.0.0.1:9/v1/images/edits"  # a prompt back-end is configured (never called)
    assert from_steps("e-changebg-prompt-snowy mountains", None).key == \
        from_text("e_gen_background_replace:prompt_snowy mountains").key
    assert from_steps(f"e-changebg-prompte-{b64('a beach')}", None).key == \
        from_text("e_gen_background_replace:prompt_a beach").key


@pytest.mark.parametrize("prompt", ["50% off_sale", "a dog", "ünïcode words"])
def test_a_prompt_is_passed_on_literally(prompt):
    plan = from_steps(f"bg-genfill-prompt-{quote(prompt, safe='')},w-100,h-96,cm-pad_resize", None)
    assert plan.steps[0].background.gen.prompt == prompt
    assert from_text(plan.literal).key == plan.key


def test_ai_operations_follow_the_engines_placement_rules():
    """Differences from ImageKit, said in the README: background removal only as the first step
    and never in a layer (the engine's rule for producers that start from the original)."""
    with pytest.raises(BadRequest, match="first component"):
        from_steps("w-100:e-bgremove", None)
    for prompt in ("a%3Bseed_3", "a%2Cb", "a%2Fb", "a%3Ab", "(a)", "a%5Cb"):
        with pytest.raises(BadRequest, match="Invalid ImageKit prompt"):
            from_steps(f"bg-genfill-prompt-{prompt},w-100,h-96,cm-pad_resize", None)
    with pytest.raises(BadRequest, match="layer"):
        from_steps("l-image,i-a.png,e-removedotbg,l-end", None)


def test_two_ai_operations_in_one_step_is_imagekits_400():
    for tr in ("e-removedotbg,h-200,e-dropshadow", "e-bgremove,e-upscale", "e-retouch,bg-genfill,w-10,h-10,cm-pad_resize",
               "e-genvar,l-image,i-a.png,e-removedotbg,l-end", "e-changebg-prompt-sky,e-edit-prompt-hat"):
        with pytest.raises(BadRequest, match="Only one AI transformation is allowed in a step; chain them with ':'"):
            from_steps(tr, None)


# --- injection: no ImageKit value adds a Cloudinary parameter or component ------------------------

INJECTIONS = [
    "w-100_e_grayscale", "w-100%2Ce_grayscale", "w-100%2Fe_grayscale", "h-1,c-fill_e_sepia", "q-80%2Ce_sepia",
    "bg-red%2Ce_sepia,cm-pad_resize,w-10,h-10", "bg-FF0000_e_sepia", "b-5_red%2Fe_sepia", "r-5%2Ce_sepia",
    "rt-90.hflip", "fo-face%2Ce_sepia,w-10,h-10", "f-png%2Fe_sepia", "f-png,e_sepia", "e-sharpen-10%2Ce_sepia",
    "e-shadow-x-1%2Ce_sepia", "l-image,i-a%2Ce_sepia,l-end", "l-image,i-a@@..@@b,l-end", "l-image,i-a%3Ab,l-end", "l-text,i-Hi,ff-Arial%2Ce_sepia,l-end",
    "l-text,i-Hi,co-red%2Ce_sepia,l-end", "n-a%2Ce_sepia", "n-a%2Fe_sepia",
    "bg-genfill-prompt-cat%2Ce_sepia,w-10,h-10,cm-pad_resize", "bg-genfill-prompt-cat%3Bseed_3,w-10,h-10,cm-pad_resize",
    "e-changebg-prompt-sky%2Fe_sepia", "e-dropshadow-az-10%3Bspread_5",
]


@pytest.mark.parametrize("tr", INJECTIONS)
def test_a_value_cannot_inject_cloudinary_syntax(tr):
    with pytest.raises(BadRequest):
        from_steps(tr, None)


def test_an_escaped_slash_in_a_layer_path_is_a_folder_not_a_component():
    (layer,) = from_steps("l-image,i-a%2Fe_sepia.png,l-end", None).steps
    assert layer.source == ImageSource("a/e_sepia") and layer.steps == () and layer.own.effect is None


@pytest.mark.parametrize("text", ["a,b", "a/b", "50% off", "x:y", "e_sepia", "a%2Cb", "l_end/fl_layer_apply", "τέλος"])
def test_a_text_layer_renders_its_text_literally(text):
    for value in (f"i-{quote(text, safe='')}", f"ie-{quote(b64(text), safe='')}"):
        plan = from_steps(f"l-text,{value},l-end", None)
        (layer,) = plan.steps
        assert isinstance(layer.source, TextSource) and layer.source.text == text
        assert layer.steps == () and layer.own.effect is None


def test_imagekits_double_percent_text_is_a_literal_percent():
    (layer,) = from_steps("w-500,l-text,i-30%%20off,fs-45,l-end", None).steps[1:]
    assert layer.source.text == "30% off"


# --- renders: one derived row for both dialects ---------------------------------------------------


@pytest.fixture
def pic(upload):
    assert upload(make_image(120, 90, "jpg"), name="pic.jpg", public_id="pic").status_code == 200
    return Asset.objects.get(public_id="pic")


def _pixels(found):
    with found.open() as fh:
        image = pyvips.Image.new_from_buffer(fh.read(), "")
    return image, np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8,
                             shape=(image.height, image.width, image.bands))


@pytest.mark.django_db
def test_an_imagekit_plan_and_its_cloudinary_twin_share_one_derived_row(pic):
    mine = from_steps("w-60,h-40:e-grayscale", None).for_asset(pic)
    twin = from_text("c_fill,w_60,h_40/e_grayscale").for_asset(pic)
    assert derived.cache_key(pic, mine) == derived.cache_key(pic, twin)
    first = derived.deliverable(pic, mine)
    image, pixels = _pixels(first)
    assert (image.width, image.height) == (60, 40)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    row = DerivedImage.objects.get(asset=pic)
    assert row.transformation == twin.transformation  # Cloudinary's text, whichever dialect rendered first
    again = derived.deliverable(pic, twin)
    assert again.derived is not None and again.derived.pk == row.pk
    assert DerivedImage.objects.filter(asset=pic).count() == 1


@pytest.mark.django_db
def test_a_padded_solid_colour_layer_renders_like_its_twin(pic):
    mine = from_steps("cm-pad_resize,w-160,h-90,bg-00FF00,l-image,i-ik_canvas,bg-FF0000,w-20,h-10,lx-0,ly-0,l-end",
                      "png").for_asset(pic)
    twin = from_text("b_rgb:00ff00,c_pad,w_160,h_90/l_text:Arial_14:.,co_rgb:00000000,b_rgb:ff0000,c_scale,w_20,h_10/"
                     "fl_layer_apply.no_overflow,g_north_west,x_0,y_0", "png").for_asset(pic)
    assert derived.cache_key(pic, mine) == derived.cache_key(pic, twin)
    image, pixels = _pixels(derived.deliverable(pic, mine))
    assert (image.width, image.height) == (160, 90)
    assert tuple(pixels[5, 10, :3]) == (255, 0, 0)  # inside the solid layer at the top left
    assert tuple(pixels[5, 2, :3]) == (255, 0, 0)
    assert tuple(pixels[45, 5, :3]) == (0, 255, 0)  # the pad colour at the left edge
    assert DerivedImage.objects.filter(asset=pic).count() == 1
    assert derived.deliverable(pic, twin).derived.pk == DerivedImage.objects.get(asset=pic).pk


# --- AI operations another helper adds to the engine (they run once those branches are merged) -----

AI_TABLE = [
    ("e-dropshadow", "e_dropshadow", "dropshadow"),
    ("e-dropshadow-az-45", "e_dropshadow:azimuth_45", "dropshadow"),
    ("e-dropshadow-az-45_el-30_st-60", "e_dropshadow:azimuth_45;elevation_30;spread_60", "dropshadow"),
    ("e-removedotbg:e-dropshadow", "e_background_removal/e_dropshadow", "dropshadow"),
    ("e-retouch", "e_retouch", "retouch"),
    ("e-upscale", "e_upscale", "upscale"),
    ("e-upscale,w-300", "e_upscale/w_300", "upscale"),
    ("e-genvar", "e_genvar", "genvar"),
]


@pytest.mark.parametrize("ik,cld,effect", AI_TABLE, ids=[row[0] for row in AI_TABLE])
def test_ai_operations_mean_their_cloudinary_twin(ik, cld, effect, settings):
    settings.DAM_IMAGE_EDIT_URL = "http://127.0.0.1:9/v1/images/edits"  # a prompt back-end is configured (never called)
    assert effect in registry.load()
    assert from_steps(ik, None).key == from_text(cld).key


@pytest.mark.django_db
def test_a_nested_layer_is_placed_inside_its_parent(pic):
    plan = from_steps("cm-pad_resize,w-160,h-90,bg-00FF00,"
                      "l-image,i-ik_canvas,bg-FF0000,w-40,h-30,lx-100,ly-50,"
                      "l-image,i-ik_canvas,bg-0000FF,w-10,h-10,lx-5,ly-N5,l-end,l-end", "png")
    image, pixels = _pixels(derived.deliverable(pic, plan.for_asset(pic)))
    assert (image.width, image.height) == (160, 90)
    assert tuple(pixels[60, 120, :3]) == (255, 0, 0)  # the parent layer
    assert tuple(pixels[51, 108, :3]) == (0, 0, 255)  # the nested one, 5 px above the parent's top edge: clipped
    assert tuple(pixels[47, 108, :3]) != (0, 0, 255)  # above the parent nothing of it shows (the photo does)
    assert tuple(pixels[56, 108, :3]) == (255, 0, 0)  # below its 5 visible rows: the parent again
    assert tuple(pixels[79, 108, :3]) == (255, 0, 0) and tuple(pixels[81, 108, :3]) != (255, 0, 0)  # 30 rows high
    assert tuple(pixels[45, 5, :3]) == (0, 255, 0)  # the pad colour


@pytest.mark.django_db
def test_a_layer_past_the_edge_is_clipped_never_growing_the_image(pic):
    plan = from_steps("l-image,i-ik_canvas,bg-FF0000,w-50,h-50,lx-N20,ly-80,l-end", "png")
    image, pixels = _pixels(derived.deliverable(pic, plan.for_asset(pic)))
    assert (image.width, image.height) == (120, 90)
    assert tuple(pixels[85, 0, :3]) == (255, 0, 0) and tuple(pixels[85, 29, :3]) == (255, 0, 0)
    assert tuple(pixels[85, 31, :3]) != (255, 0, 0) and tuple(pixels[78, 10, :3]) != (255, 0, 0)
