"""Chapter 3's worked example: the 7×7 curve detector gives exactly 6600 and exactly 0.

The arrays live in the chapter's checks module; the chapter imports them from there, so the
numbers printed in the book are the numbers asserted here.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from autograder.book import sources
from autograder.core.checks.ch03_feature_detectors import CURVE_FILTER, CURVE_REGION, PLAIN_REGION, filter_response

SOURCE = sources.SOLUTIONS / "03-feature-detectors.md"


def test_arrays_are_one_depth_slice_of_a_7x7_filter():
    for array in (CURVE_FILTER, CURVE_REGION, PLAIN_REGION):
        assert array.shape == (7, 7)
        assert array.dtype == np.float64
    assert set(np.unique(CURVE_FILTER)) == {0.0, 30.0}, "high values along the curve, zeros elsewhere"
    assert CURVE_REGION.max() == 50 and PLAIN_REGION.max() == 50


def test_curve_region_gives_exactly_6600():
    assert np.sum(CURVE_REGION * CURVE_FILTER) == 6600
    assert filter_response(CURVE_REGION, CURVE_FILTER) == 6600


def test_plain_region_gives_exactly_0():
    assert np.sum(PLAIN_REGION * CURVE_FILTER) == 0
    assert filter_response(PLAIN_REGION, CURVE_FILTER) == 0
    assert PLAIN_REGION.sum() > 0, "the plain region is not empty: its bright pixels miss the curve"


def test_6600_is_the_top_left_of_the_activation_map():
    """Slid over a scene whose top-left corner is the curve region, the map starts with 6600."""
    scene = np.zeros((16, 20))
    scene[:7, :7] = CURVE_REGION
    scene[9:16, 12:19] = PLAIN_REGION
    out = F.conv2d(torch.from_numpy(scene)[None, None], torch.from_numpy(CURVE_FILTER)[None, None])[0, 0]
    assert out.shape == (10, 14)
    assert out[0, 0].item() == 6600
    assert out[9, 12].item() == 0


def test_the_chapter_uses_these_arrays_and_prints_both_numbers():
    text = SOURCE.read_text()
    assert "from autograder.core.checks.ch03_feature_detectors import CURVE_FILTER, CURVE_REGION, PLAIN_REGION" in text
    assert "assert response == 6600" in text
    assert "assert (PLAIN_REGION * CURVE_FILTER).sum() == 0" in text
    assert "np.array([" not in text.split("## The worked example", 1)[1].split("### The activation map", 1)[0], \
        "the chapter must not redefine the curve arrays"
