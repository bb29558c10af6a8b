"""Input sizes of the field's conventions, one rule each, shared by complexity and runtime.

* :data:`NTIRE_LR`: the 1x3x256x256 LR input of the NTIRE ESR complexity and runtime figures.
* :data:`HR_SIZE`: the 1280x720 HR output of the papers' "Multi-Adds" (AGDN table 5, IMDN, RFDN, ...).
* :func:`lr_size_for_hr`: the LR input whose output covers an HR frame, ``ceil(H/s) x ceil(W/s)``
  (x3 at 720p: 240x427, an output of 720x1281; the rule under which the official complexity figures of
  ``$ESR_BENCH_SHARED/reference/official_complexity.csv`` are reproduced exactly).
"""

from __future__ import annotations

import math

__all__ = ["NTIRE_LR", "HR_SIZE", "lr_size_for_hr", "parse_size"]

NTIRE_LR = (256, 256)  # H x W
HR_SIZE = (720, 1280)  # H x W of the HR output for the papers' Multi-Adds


def lr_size_for_hr(scale: int, hr: tuple[int, int] = HR_SIZE) -> tuple[int, int]:
    """LR (H, W) whose x``scale`` output covers ``hr`` (H, W): ``(ceil(H/s), ceil(W/s))``.

    ``lr_size_for_hr(4) == (180, 320)``; ``lr_size_for_hr(3) == (240, 427)``. Raises ``ValueError`` for a
    scale or size below 1.
    """
    if int(scale) < 1 or min(hr) < 1:
        raise ValueError(f"scale {scale} and HR size {hr[1]}x{hr[0]} must be positive")
    return math.ceil(hr[0] / scale), math.ceil(hr[1] / scale)


def parse_size(text: str) -> tuple[int, int]:
    """``"256x128"`` -> ``(256, 128)`` (the numbers in the order written); one number means a square.

    Raises ``ValueError`` for anything else (non-integers, zero, three numbers).
    """
    parts = str(text).lower().replace("*", "x").split("x")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"size {text!r} is not of the form AxB (e.g. 256x256)") from None
    if len(nums) == 1:
        nums = nums * 2
    if len(nums) != 2 or min(nums) < 1:
        raise ValueError(f"size {text!r} is not of the form AxB with positive integers")
    return nums[0], nums[1]
