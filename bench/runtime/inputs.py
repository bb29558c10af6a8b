"""What a runtime measurement feeds the model: sizes, reproducible synthetic LR images, dataset LR images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch


def make_u8(size: Sequence[int], seed: int, channels: int = 3) -> torch.Tensor:
    """A reproducible random 1xCxHxW uint8 LR image."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (1, channels, *size), generator=g, dtype=torch.uint8)


def make_input(size: Sequence[int], data_range: float, seed: int, channels: int = 3) -> torch.Tensor:
    """A reproducible 1xCxHxW LR input in the model's range, quantised to 8 bits like a real image."""
    return make_u8(size, seed, channels).float() / (255.0 / data_range)


def to_device(x: torch.Tensor, device: torch.device, dtype: torch.dtype, channels_last: bool) -> torch.Tensor:
    """``x`` on ``device`` in ``dtype``, in channels-last memory format when asked."""
    x = x.to(device=device, dtype=dtype)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


# --------------------------------------------------------------------------------------------------
# datasets (ntire mode over real images)


def _hwc_to_tensor(arr: Any) -> torch.Tensor:
    """An ``HxWx3`` uint8 array -> ``1x3xHxW`` uint8 tensor."""
    import numpy as np

    return torch.from_numpy(np.array(arr, dtype=np.uint8, copy=True)).permute(2, 0, 1).unsqueeze(0).contiguous()


def dataset_lr_images(dataset: str | Path, scale: int, split: str | None = None) -> tuple[str, list[torch.Tensor]]:
    """``(canonical name, LR images as 1x3xHxW uint8 tensors)`` of ``dataset`` at ``scale``.

    Goes through ``bench.data``: ``resolve_dataset(name_or_path, split=...)`` then ``pairs(scale)``;
    an image pair's LR file is read with ``read_image`` (8-bit RGB, grey -> 3 channels, like the
    official ``imread_uint``), or, when the dataset has no LR files for ``scale``, made from the HR
    image with ``make_lr`` (modcrop + MATLAB bicubic). Raises ``ImportError`` with an actionable
    message if ``bench.data`` is not available in this installation.
    """
    try:
        from bench import data as bdata
    except ImportError as exc:
        raise ImportError(
            "--dataset needs the dataset module bench.data, which this installation does not have; "
            "use --input HxW (LR) or --hr WxH instead"
        ) from exc
    if split in ("valid", "test"):
        ds = bdata.resolve_dataset(dataset, split=split)
    else:
        ds = bdata.resolve_dataset(dataset)
    images = []
    for pair in ds.pairs(int(scale)):
        if pair.lr is not None:
            arr = bdata.read_image(pair.lr)
        else:
            arr = bdata.make_lr(bdata.read_image(pair.hr), int(scale))
        images.append(_hwc_to_tensor(arr))
    return str(ds.name), images
