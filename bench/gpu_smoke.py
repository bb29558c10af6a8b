"""CUDA smoke check for ``nox -s gpu``: exits 0 with a message when no CUDA device is present.

On a GPU it checks that AGDN-S runs on CUDA and matches its CPU output; the runtime issue extends it
with timing, memory, fp16 and channels-last rows.
"""

from __future__ import annotations

import sys

import torch


def main() -> int:
    if not torch.cuda.is_available():
        print("gpu smoke check: no CUDA device available, skipped")
        return 0
    from models import create_model

    model = create_model("agdn-s", 4)
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        ref = model(x)
        out = model.cuda()(x.cuda()).cpu()
    diff = float((out - ref).abs().max())
    print(f"device: {torch.cuda.get_device_name(0)}; agdn-s cuda vs cpu max |diff| = {diff:.2e}")
    return 0 if diff < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
