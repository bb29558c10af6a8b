"""The input-size rules of bench/sizes.py: NTIRE 256x256 LR, the papers' 1280x720 HR, LR for an HR frame."""

from __future__ import annotations

import pytest

from bench.sizes import HR_SIZE, NTIRE_LR, lr_size_for_hr, parse_size


def test_standard_sizes() -> None:
    assert NTIRE_LR == (256, 256) and HR_SIZE == (720, 1280)


@pytest.mark.parametrize("scale, expected", [(1, (720, 1280)), (2, (360, 640)), (3, (240, 427)), (4, (180, 320)),
                                             (8, (90, 160))])
def test_lr_size_for_720p_is_the_ceiling(scale: int, expected: tuple[int, int]) -> None:
    """x3: 720/3 = 240, 1280/3 = 426.67 -> 427 (the LR input of the official x3 Multi-Adds)."""
    assert lr_size_for_hr(scale) == expected


def test_lr_size_for_other_frames_rounds_each_axis_up() -> None:
    assert lr_size_for_hr(4, (721, 1283)) == (181, 321)
    assert lr_size_for_hr(3, (10, 7)) == (4, 3)
    assert lr_size_for_hr(2, (1, 1)) == (1, 1)


@pytest.mark.parametrize("scale, hr", [(0, (720, 1280)), (-2, (720, 1280)), (4, (0, 1280)), (4, (720, -1))])
def test_lr_size_refuses_non_positive_inputs(scale: int, hr: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        lr_size_for_hr(scale, hr)


@pytest.mark.parametrize("text, expected", [("256x128", (256, 128)), ("64", (64, 64)), ("1280X720", (1280, 720)),
                                            ("3*5", (3, 5)), ("1x1", (1, 1))])
def test_parse_size(text: str, expected: tuple[int, int]) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text, why", [("256xfoo", "not of the form AxB"), ("0x5", "positive integers"),
                                       ("1x2x3", "positive integers"), ("", "not of the form"),
                                       ("-4x4", "positive integers")])
def test_parse_size_refuses(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_size(text)
