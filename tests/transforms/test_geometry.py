"""Geometry without pixels: (input size, request) -> crop box, resize, canvas."""

from __future__ import annotations

import pytest

from transforms.geometry import Box, Canvas, Geometry, Request, compute

R = Request

# (iw, ih, request, expected geometry)
CASES = [
    # scale: exact size; one side keeps the aspect; ar fills the other side
    (400, 300, R("scale", 200, 100), Geometry(None, 200, 100)),
    (400, 300, R("scale", 200), Geometry(None, 200, 150)),
    (400, 300, R("scale", None, 150), Geometry(None, 200, 150)),
    (400, 300, R("scale", 200, ar=2.0), Geometry(None, 200, 100)),
    (400, 300, R("scale", ar=1.0), Geometry(None, 400, 400)),
    (400, 300, R("scale"), Geometry(None, 400, 300)),
    # fit / limit / mfit
    (400, 300, R("fit", 200, 200), Geometry(None, 200, 150)),
    (400, 300, R("fit", 800, 800), Geometry(None, 800, 600)),
    (400, 300, R("limit", 800, 800), Geometry(None, 400, 300)),
    (400, 300, R("limit", 200, 200), Geometry(None, 200, 150)),
    (400, 300, R("mfit", 200, 200), Geometry(None, 400, 300)),
    (400, 300, R("mfit", 800, 800), Geometry(None, 800, 600)),
    # fill: cover then crop by gravity
    (400, 300, R("fill", 200, 200), Geometry(Box(50, 0, 300, 300), 200, 200)),
    (400, 300, R("fill", 200, 200, gravity="west"), Geometry(Box(0, 0, 300, 300), 200, 200)),
    (400, 300, R("fill", 200, 200, gravity="east"), Geometry(Box(100, 0, 300, 300), 200, 200)),
    (400, 300, R("fill", 400, 100, gravity="north"), Geometry(Box(0, 0, 400, 100), 400, 100)),
    (400, 300, R("fill", 400, 100, gravity="south"), Geometry(Box(0, 200, 400, 100), 400, 100)),
    (400, 300, R("fill", 400, 100), Geometry(Box(0, 100, 400, 100), 400, 100)),
    (400, 300, R("fill", 800, 800), Geometry(Box(50, 0, 300, 300), 800, 800)),
    (400, 300, R("fill", 200), Geometry(None, 200, 150)),
    (400, 300, R("fill", 200, ar=1.0), Geometry(Box(50, 0, 300, 300), 200, 200)),
    (400, 300, R("fill", ar=1.0), Geometry(Box(50, 0, 300, 300), 300, 300)),
    # fill with a focus box: the crop follows it
    (400, 300, R("fill", 100, 300, gravity="auto", focus=Box(300, 0, 100, 300)),
     Geometry(Box(300, 0, 100, 300), 100, 300)),
    (400, 300, R("fill", 100, 300, gravity="custom", focus=Box(0, 0, 20, 20)),
     Geometry(Box(0, 0, 100, 300), 100, 300)),
    # lfill: never enlarges; a small input is cut where it exceeds the box
    (400, 300, R("lfill", 200, 200), Geometry(Box(50, 0, 300, 300), 200, 200)),
    (400, 300, R("lfill", 500, 200), Geometry(Box(0, 50, 400, 200), 400, 200)),
    (400, 300, R("lfill", 800, 800), Geometry(Box(0, 0, 400, 300), 400, 300)),
    # thumb: fill, z zooms around the gravity point
    (400, 300, R("thumb", 100, 100), Geometry(Box(50, 0, 300, 300), 100, 100)),
    (400, 300, R("thumb", 100, 100, zoom=2.0), Geometry(Box(125, 75, 150, 150), 100, 100)),
    # crop: a region, no resize; x/y alone anchor the top-left corner
    (400, 300, R("crop", 100, 50), Geometry(Box(150, 125, 100, 50), 100, 50)),
    (400, 300, R("crop", 100, 50, x=10, y=20), Geometry(Box(10, 20, 100, 50), 100, 50)),
    (400, 300, R("crop", 100, 50, gravity="south_east"), Geometry(Box(300, 250, 100, 50), 100, 50)),
    (400, 300, R("crop", 100, 50, gravity="south_east", x=10, y=5), Geometry(Box(290, 245, 100, 50), 100, 50)),
    (400, 300, R("crop", 100, 50, gravity="xy_center", x=100, y=100), Geometry(Box(50, 75, 100, 50), 100, 50)),
    (400, 300, R("crop", 1000, 50), Geometry(Box(0, 125, 400, 50), 400, 50)),
    (400, 300, R("crop", 100, 50, x=390, y=290), Geometry(Box(300, 250, 100, 50), 100, 50)),
    (400, 300, R("crop", ar=2.0), Geometry(Box(0, 50, 400, 200), 400, 200)),
    (400, 300, R("crop", gravity="custom", focus=Box(10, 20, 30, 40)), Geometry(Box(10, 20, 30, 40), 30, 40)),
    (400, 300, R("crop", 100, 100, zoom=2.0), Geometry(Box(175, 125, 50, 50), 100, 100)),
    # pad / lpad / mpad
    (400, 300, R("pad", 200, 200), Geometry(None, 200, 150, Canvas(200, 200, 0, 25))),
    (400, 300, R("pad", 200, 200, gravity="north"), Geometry(None, 200, 150, Canvas(200, 200, 0, 0))),
    (400, 300, R("pad", 200, 200, gravity="south"), Geometry(None, 200, 150, Canvas(200, 200, 0, 50))),
    (400, 300, R("pad", 800, 400), Geometry(None, 533, 400, Canvas(800, 400, 134, 0))),
    (400, 300, R("pad", ar=1.0), Geometry(None, 400, 300, Canvas(400, 400, 0, 50))),
    (400, 300, R("lpad", 800, 800), Geometry(None, 400, 300, Canvas(800, 800, 200, 250))),
    (400, 300, R("lpad", 200, 200), Geometry(None, 200, 150, Canvas(200, 200, 0, 25))),
    (400, 300, R("mpad", 200, 200), Geometry(None, 400, 300)),
    (400, 300, R("mpad", 800, 800), Geometry(None, 800, 600, Canvas(800, 800, 0, 100))),
    # fill_pad: pads rather than cutting into the focus box
    (400, 300, R("fill_pad", 200, 200, gravity="auto", focus=Box(100, 100, 100, 100)),
     Geometry(Box(0, 0, 300, 300), 200, 200)),
    (400, 300, R("fill_pad", 200, 200, gravity="auto", focus=Box(0, 0, 400, 300)),
     Geometry(Box(0, 0, 400, 300), 200, 150, Canvas(200, 200, 0, 25))),
    # a focus box: thumb crops around it (margin 1.3, z_ divides), crop without dims is the
    # box (z_ scales it), the pad family crops to it grown toward the aspect, then pads
    (400, 300, R("thumb", 100, 100, gravity="focus", focus=Box(290, 30, 60, 60)),
     Geometry(Box(281, 21, 78, 78), 100, 100)),
    (400, 300, R("thumb", 100, 100, gravity="focus", zoom=2.6, focus=Box(290, 30, 60, 60)),
     Geometry(Box(305, 45, 30, 30), 100, 100)),
    (400, 300, R("thumb", 100, 100, gravity="focus", zoom=0.1, focus=Box(290, 30, 60, 60)),
     Geometry(Box(100, 0, 300, 300), 100, 100)),
    (400, 300, R("crop", gravity="focus", zoom=0.8, focus=Box(290, 30, 60, 60)), Geometry(Box(283, 23, 75, 75), 75, 75)),
    (400, 300, R("crop", gravity="focus", zoom=0.1, focus=Box(290, 30, 60, 60)), Geometry(Box(0, 0, 400, 300), 400, 300)),
    (400, 300, R("pad", 100, 50, gravity="focus", focus=Box(150, 120, 40, 40)),
     Geometry(Box(130, 120, 80, 40), 100, 50, Canvas(100, 50, 0, 0))),
    (400, 300, R("pad", 100, 10, gravity="focus", focus=Box(150, 120, 40, 40)),
     Geometry(Box(0, 120, 400, 40), 100, 10, Canvas(100, 10, 0, 0))),
]


@pytest.mark.parametrize("iw,ih,request_,expected", CASES)
def test_geometry(iw, ih, request_, expected):
    assert compute(iw, ih, request_) == expected


def test_output_size_includes_the_canvas():
    assert compute(400, 300, R("pad", 200, 200)).out_size == (200, 200)
    assert compute(400, 300, R("fit", 200, 200)).out_size == (200, 150)
