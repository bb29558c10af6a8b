"""Evaluation datasets: layouts, name resolution, up-front pairing checks and image reading.

Layouts recognised by :func:`resolve_dataset`:

* **benchmark** (``<root>/<Name>/HR/*.png`` and optionally ``<root>/<Name>/LR_bicubic/X{s}/<stem>x{s}.png``):
  Set5, Set14, B100 (alias BSD100, BSDS100), Urban100, Manga109 by name under ``$ESR_BENCH_DATA``,
  or any folder with that layout by path.
* **ntire** (``<prefix>_HR/`` + ``<prefix>_LR/<stem>x4.png``): the NTIRE ESR challenge folders
  (``DIV2K_LSDIR_valid``/``_test`` from 2024 on, and the historical ``LSDIR_DIV2K_*``, ``DIV2K_valid``,
  ``DIV2K_test`` names; the 2022 test LR has no ``x4`` suffix, and ``<prefix>_LR_bicubic/X4`` is
  accepted too). Pass the folder holding them (the valid split is preferred) or the ``_HR`` folder.
  :func:`ntire_split` finds one split by the folder names a challenge year's rules give
  (``challenge.evaluate`` reads its ``--data`` with it, under the official ``*.png`` file rule).
* **folder**: a folder of images, used as HR; LR is made by MATLAB bicubic.
* **samples**: built in, no download: photographs bundled with scikit-image (LR by MATLAB bicubic).

Images are read as 8-bit RGB: grayscale becomes three equal channels (as the NTIRE scripts do with
OpenCV), palette images are expanded; 16-bit grayscale is converted to 8 bits with a warning, by the
rule ``sixteen_bit`` names (:data:`SIXTEEN_BIT_RULES`: ``round(v / 257)`` by default, or OpenCV's
``v >> 8``), while 16-bit colour PNGs are refused with a message (Pillow, the only decoder
available, would silently drop their low byte); an alpha channel that is fully opaque is dropped with
a warning, and a transparent image is refused (its RGB under transparent pixels is undefined).
Nothing is silently misread.

:meth:`Dataset.pairs` checks everything before a model runs (missing LR, LR size not HR/scale,
unreadable or unsupported files, empty folder) and raises one :class:`DatasetError` listing every
offending file.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import UserError
from .imresize import imresize
from .paths import data_root

__all__ = [
    "DatasetError",
    "ImageConversionWarning",
    "ImagePair",
    "Dataset",
    "BENCHMARK_NAMES",
    "NTIRE_PREFIXES",
    "NTIRE_ALIASES",
    "IMAGE_FILE_RULES",
    "SAMPLE_IMAGES",
    "read_image",
    "modcrop",
    "make_lr",
    "resolve_dataset",
    "list_datasets",
    "ntire_folder",
    "ntire_split",
]

IMAGE_EXTENSIONS = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".ppm", ".pgm")

# canonical name -> accepted folder names (case-insensitive)
BENCHMARK_NAMES: dict[str, tuple[str, ...]] = {
    "Set5": ("Set5",),
    "Set14": ("Set14",),
    "B100": ("B100", "BSD100", "BSDS100"),
    "Urban100": ("Urban100",),
    "Manga109": ("Manga109",),
}

# NTIRE ESR folder prefixes, most recent naming first; each has <prefix>_HR and <prefix>_LR
NTIRE_PREFIXES: tuple[str, ...] = (
    "DIV2K_LSDIR_valid",
    "DIV2K_LSDIR_test",
    "LSDIR_DIV2K_valid",
    "LSDIR_DIV2K_test",
    "DIV2K_valid",
    "DIV2K_test",
)

# Other spellings of an NTIRE prefix for the same images: the 2024+ rules name DIV2K_LSDIR_<split>, while
# the official NTIRE 2024 test_demo.py globs LSDIR_DIV2K_<split>_HR (the 2023 test set's spelling).
NTIRE_ALIASES: dict[str, tuple[str, ...]] = {
    "DIV2K_LSDIR_valid": ("LSDIR_DIV2K_valid",),
    "DIV2K_LSDIR_test": ("LSDIR_DIV2K_test",),
}

#: Which files of a folder are a dataset's images (:attr:`Dataset.image_files`). ``"any"``: every
#: :data:`IMAGE_EXTENSIONS` suffix, in any letter case (bench's own reading). ``"png"``: names ending in
#: lower-case ``.png`` only, what the official NTIRE ESR ``test_demo.py`` reads
#: (``glob(<data_dir>/<split>_HR/*.png)``, case-sensitive on Linux, LR ``<stem>x4.png``): another file in
#: the folder (``a.jpg``, ``a.PNG``) is not part of the split there, so it must not be one here either.
IMAGE_FILE_RULES = ("any", "png")

# photographs bundled with scikit-image (no download): used as HR, LR by MATLAB bicubic
SAMPLE_IMAGES: tuple[str, ...] = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png")


class DatasetError(UserError, ValueError):
    """A dataset that cannot be evaluated; the message lists every offending file."""


class ImageConversionWarning(UserWarning):
    """An image was converted to 8-bit RGB in a way worth knowing (16-bit, alpha channel)."""


@dataclass(frozen=True)
class ImagePair:
    """One evaluation image: ``name`` (file stem), its HR file and its LR file (``None``: made by bicubic)."""

    name: str
    hr: Path
    lr: Path | None


# ---------------------------------------------------------------------------------------------- images


def _png_header(path: Path) -> tuple[int, int] | None:
    """``(bit depth, colour type)`` from a PNG's IHDR chunk (``None`` for non-PNG files)."""
    with open(path, "rb") as f:
        head = f.read(26)
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def _refuse_16bit_colour(path: Path) -> None:
    header = _png_header(path)
    if header is not None and header[0] == 16 and header[1] != 0:
        raise DatasetError(
            f"{path}: 16-bit colour PNG is not supported (Pillow would silently keep only the high byte); "
            "convert it to 8-bit RGB first, e.g. round(v / 257)"
        )


#: 16-bit -> 8-bit rules of :func:`read_image`. ``"paper"``: ``round(v / 257)``, the exact full-scale map
#: (65535 -> 255, MATLAB ``im2uint8``). ``"opencv"``: ``v >> 8`` = ``floor(v / 256)``, what ``cv2.imread``
#: returns with its 8-bit flags (IMREAD_COLOR / IMREAD_GRAYSCALE: libpng ``png_set_strip_16``). The NTIRE
#: ``imread_uint`` reads with IMREAD_UNCHANGED, which keeps 16 bits and feeds v / 255 to the model (no
#: 8-bit rule at all), so a 16-bit image has no faithful official reading.
SIXTEEN_BIT_RULES = ("paper", "opencv")


def _to_uint8_16bit(arr: np.ndarray, rule: str) -> np.ndarray:
    """Integer ``arr`` in [0, 65535] -> uint8 in [0, 255] by ``rule`` (no clipping is ever needed)."""
    if rule == "opencv":
        return (arr >> 8).astype(np.uint8)
    return np.floor(arr / 257.0 + 0.5).astype(np.uint8)


def _drop_alpha(arr: np.ndarray, path: Path, alpha_max: int) -> np.ndarray:
    alpha = arr[..., -1]
    if alpha.min() < alpha_max:
        raise DatasetError(
            f"{path}: image has transparent pixels (alpha channel with values below {alpha_max}); "
            "its colours under transparency are undefined. Flatten it onto a background and save as RGB"
        )
    warnings.warn(f"{path}: fully opaque alpha channel dropped", ImageConversionWarning, stacklevel=3)
    return arr[..., :-1]


_BOMB = "image header declares more pixels than Pillow's safety limit (a corrupt header or a decompression bomb)"


def read_image(path: str | Path, *, sixteen_bit: str = "paper") -> np.ndarray:
    """Read ``path`` as an ``HxWx3`` uint8 RGB array (conversions as described in the module docstring).

    ``sixteen_bit`` is the 16-bit grayscale rule, one of :data:`SIXTEEN_BIT_RULES`. Raises
    :class:`DatasetError` for unreadable or unsupported files, ``ValueError`` for an unknown rule.
    """
    if sixteen_bit not in SIXTEEN_BIT_RULES:
        raise ValueError(f"sixteen_bit must be one of {SIXTEEN_BIT_RULES}, got {sixteen_bit!r}")
    path = Path(path)
    try:
        _refuse_16bit_colour(path)
        with Image.open(path) as im:
            mode = im.mode
            if mode in ("RGB",):
                arr = np.asarray(im)
            elif mode in ("L", "1", "P", "CMYK", "YCbCr"):
                if mode == "P" and "transparency" in im.info:
                    arr = _drop_alpha(np.asarray(im.convert("RGBA")), path, 255)
                else:
                    arr = np.asarray(im.convert("RGB") if mode != "L" else im)
            elif mode in ("RGBA", "LA", "PA", "RGBa", "La"):
                arr = _drop_alpha(np.asarray(im.convert("RGBA" if mode != "LA" else "LA")), path, 255)
            elif mode.startswith("I;16") or (mode == "I" and (_png_header(path) or (0,))[0] == 16):
                arr = np.asarray(im).astype(np.int64)
                rule = "round(v/257)" if sixteen_bit == "paper" else "v>>8, as OpenCV"
                warnings.warn(f"{path}: 16-bit image converted to 8 bits ({rule})",
                              ImageConversionWarning, stacklevel=2)
                arr = _to_uint8_16bit(arr, sixteen_bit)
            else:
                raise DatasetError(f"{path}: unsupported image mode {mode!r} (need 8-bit RGB or grayscale)")
    except DatasetError:
        raise
    except Image.DecompressionBombError as exc:
        raise DatasetError(f"{path}: {_BOMB} ({exc})") from exc
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise DatasetError(f"{path}: unreadable image ({type(exc).__name__}: {exc})") from exc
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        raise DatasetError(f"{path}: decoded as {arr.dtype}, expected 8 bits")
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.shape[2] != 3:
        raise DatasetError(f"{path}: {arr.shape[2]} channels after conversion, expected 3")
    return np.require(arr, requirements=["C", "W"])


def _probe(path: Path) -> tuple[int, int]:
    """``(H, W)`` of an image from its header, after a structural check; raises DatasetError."""
    try:
        with Image.open(path) as im:
            size = im.size
            mode = im.mode
            has_transparency = "transparency" in im.info
            im.verify()
    except Image.DecompressionBombError as exc:
        raise DatasetError(f"{path}: {_BOMB} ({exc})") from exc
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise DatasetError(f"{path}: unreadable image ({type(exc).__name__}: {exc})") from exc
    _refuse_16bit_colour(path)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and has_transparency):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ImageConversionWarning)
            read_image(path)  # decodes; refuses images with transparent pixels
    if mode == "F":
        raise DatasetError(f"{path}: unsupported image mode {mode!r} (need 8-bit RGB or grayscale)")
    return size[1], size[0]


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right of an ``HxW[xC]`` image to a multiple of ``scale`` (the SR convention)."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def make_lr(hr: np.ndarray, scale: int) -> np.ndarray:
    """LR of a uint8 HR image: modcrop, then MATLAB ``imresize(hr, 1/scale, 'bicubic')`` (bit-exact)."""
    return imresize(modcrop(hr, scale), 1.0 / scale)


# --------------------------------------------------------------------------------------------- dataset


def _is_image_name(path: Path, rule: str) -> bool:
    """Whether ``path``'s name makes it an image under the :data:`IMAGE_FILE_RULES` ``rule``."""
    if rule == "any":
        return path.suffix.lower() in IMAGE_EXTENSIONS
    if rule == "png":
        return path.suffix == ".png"
    raise ValueError(f"unknown image file rule {rule!r} (one of {IMAGE_FILE_RULES})")


def _check_image_files(rule: str) -> None:
    if rule not in IMAGE_FILE_RULES:
        raise ValueError(f"image_files must be one of {IMAGE_FILE_RULES}, got {rule!r}")


def _images_in(folder: Path, rule: str) -> list[Path]:
    """The files of ``folder`` whose names the :data:`IMAGE_FILE_RULES` ``rule`` takes, sorted by path."""
    return sorted(p for p in folder.iterdir() if p.is_file() and _is_image_name(p, rule))


def _by_stem(files: list[Path]) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for p in files:
        found.setdefault(p.stem, []).append(p)
    return found


def _child(folder: Path, name: str) -> Path | None:
    """Case-insensitive sub-folder lookup."""
    if not folder.is_dir():
        return None
    direct = folder / name
    if direct.is_dir():
        return direct
    for p in folder.iterdir():
        if p.is_dir() and p.name.lower() == name.lower():
            return p
    return None


@dataclass
class Dataset:
    """An evaluation set: HR folder plus, per scale, an optional folder of ready-made LR images."""

    name: str  # canonical name: "Set5", "DIV2K_LSDIR_valid", "samples", or the folder name
    path: Path
    layout: str  # "benchmark" | "ntire" | "folder" | "samples"
    hr_dir: Path
    lr_dirs: dict[int, Path] = field(default_factory=dict)
    hr_files_override: tuple[Path, ...] | None = None
    scales: tuple[int, ...] | None = None  # scales the dataset supports (NTIRE: only 4); None: any
    image_files: str = "any"  # which files are images: one of IMAGE_FILE_RULES

    def __post_init__(self) -> None:
        _check_image_files(self.image_files)

    def hr_files(self) -> list[Path]:
        """The HR images, sorted by path (the files of ``hr_dir`` that :attr:`image_files` names)."""
        if self.hr_files_override is not None:
            return list(self.hr_files_override)
        return _images_in(self.hr_dir, self.image_files)

    def lr_dir(self, scale: int) -> Path | None:
        """The folder of ready-made LR images for ``scale`` (converted by ``int()``), ``None`` when there is none."""
        return self.lr_dirs.get(int(scale))

    def lr_files(self, scale: int) -> list[Path]:
        """The images of the LR folder for ``scale`` (sorted by path; :attr:`image_files` rule), ``[]`` without one."""
        lr_dir = self.lr_dir(scale)
        return _images_in(lr_dir, self.image_files) if lr_dir is not None else []

    @staticmethod
    def _lr_candidates(stem: str, scale: int, by_stem: dict[str, list[Path]]) -> list[Path]:
        """LR files of ``by_stem`` for ``stem``: ``<stem>x<s>.<ext>``, then ``<stem>.<ext>``."""
        return [p for n in (f"{stem}x{scale}", stem) for p in by_stem.get(n, [])]

    def pairs(self, scale: int, lr_source: str = "auto", check: bool = True, min_side: int = 0,
              min_side_why: str = "") -> list[ImagePair]:
        """The image pairs for ``scale``, checked up front (one :class:`DatasetError` for all problems).

        ``lr_source``: ``"files"`` (LR folder required), ``"bicubic"`` (LR made from HR), ``"auto"``
        (files when the dataset has an LR folder for this scale, else bicubic; under the paper
        protocol :func:`bench.quality.evaluate` then only compares them with the exact bicubic).
        Refused up front: two HR images with the same stem (``a.png`` and ``a.jpg``: results and
        saved images are keyed by stem), more than one LR file for an image (``ax4.png`` and
        ``ax4.jpg``), and an HR image whose modcropped sides are below ``min_side`` pixels
        (``min_side_why`` says why, e.g. the protocol's border and SSIM window).
        """
        scale = int(scale)
        if lr_source not in ("auto", "files", "bicubic"):
            raise ValueError(f"lr_source must be 'auto', 'files' or 'bicubic', not {lr_source!r}")
        if self.scales is not None and scale not in self.scales:
            raise DatasetError(f"dataset {self.name} ({self.path}) is an x{'/x'.join(map(str, self.scales))} "
                               f"set; cannot evaluate x{scale}")
        hr_files = self.hr_files()
        if not hr_files:
            kinds = ".png" if self.image_files == "png" else ", ".join(IMAGE_EXTENSIONS)
            raise DatasetError(f"dataset {self.name}: no images ({kinds}) in {self.hr_dir}")
        lr_dir = self.lr_dir(scale) if lr_source != "bicubic" else None  # None: LR made by bicubic
        if lr_dir is None and lr_source == "files":
            raise DatasetError(
                f"dataset {self.name}: no LR folder for x{scale} (looked for "
                f"{self._expected_lr_dir(scale)}); use lr_source 'bicubic' (--lr bicubic) to make LR images"
            )
        problems: list[str] = []
        by_stem: dict[str, list[str]] = {}
        for hr in hr_files:
            by_stem.setdefault(hr.stem, []).append(hr.name)
        for stem, names in by_stem.items():
            if len(names) > 1:
                problems.append(f"{self.hr_dir}: {len(names)} images named {stem!r} ({', '.join(names)}); results "
                                "and saved images are keyed by name: keep one")
        listing = _by_stem(_images_in(lr_dir, self.image_files)) if lr_dir is not None else {}
        pairs: list[ImagePair] = []
        for hr in hr_files:
            lr: Path | None = None
            if lr_dir is not None:
                found = self._lr_candidates(hr.stem, scale, listing)
                lr = found[0] if found else None
                if lr is None:
                    problems.append(f"missing LR for {hr.name}: expected {lr_dir / f'{hr.stem}x{scale}.png'}")
                elif len(found) > 1:
                    problems.append(f"{lr_dir}: {len(found)} LR files for {hr.name} "
                                    f"({', '.join(p.name for p in found)}); keep only the one to evaluate")
            pairs.append(ImagePair(hr.stem, hr, lr))
            if not check:
                continue
            try:
                h, w = _probe(hr)
            except DatasetError as exc:
                problems.append(str(exc))
                continue
            if h < scale or w < scale:
                problems.append(f"{hr}: {h}x{w} is smaller than the scale x{scale}")
                continue
            ch, cw = h - h % scale, w - w % scale
            if min(ch, cw) < min_side:
                why = f" ({min_side_why})" if min_side_why else ""
                problems.append(f"{hr}: {h}x{w} (HxW; {ch}x{cw} after modcrop to x{scale}) is too small: "
                                f"at least {min_side}x{min_side} needed{why}")
                continue
            if lr is not None:
                try:
                    lh, lw = _probe(lr)
                except DatasetError as exc:
                    problems.append(str(exc))
                    continue
                if (lh, lw) != (h // scale, w // scale):
                    problems.append(
                        f"{lr}: LR is {lh}x{lw} (HxW) but HR {hr.name} is {h}x{w}; x{scale} needs "
                        f"{h // scale}x{w // scale}"
                    )
        if problems:
            shown = problems[:50]
            more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
            raise DatasetError(
                f"dataset {self.name} ({self.path}) x{scale}: {len(problems)} problem(s):\n  "
                + "\n  ".join(shown) + more
            )
        return pairs

    def _expected_lr_dir(self, scale: int) -> str:
        if self.layout == "benchmark":
            return str(self.path / "LR_bicubic" / f"X{scale}")
        if self.layout == "ntire":
            return str(self.hr_dir.parent / (self.hr_dir.name[: -len("_HR")] + "_LR"))
        return "(none for this layout)"


def _canonical_benchmark(name: str) -> str | None:
    for canon, aliases in BENCHMARK_NAMES.items():
        if name.lower() in (a.lower() for a in aliases):
            return canon
    return None


def _benchmark_dataset(folder: Path) -> Dataset:
    hr = _child(folder, "HR")
    assert hr is not None
    lr_dirs: dict[int, Path] = {}
    lr_root = _child(folder, "LR_bicubic")
    if lr_root is not None:
        for p in lr_root.iterdir():
            m = re.fullmatch(r"[xX](\d+)", p.name)
            if p.is_dir() and m:
                lr_dirs[int(m.group(1))] = p
    name = _canonical_benchmark(folder.name) or folder.name
    return Dataset(name, folder, "benchmark", hr, lr_dirs)


def _ntire(hr_dir: Path, lr_dir: Path | None, image_files: str) -> Dataset:
    """The x4-only NTIRE dataset of ``<prefix>_HR`` (its name: the prefix) and its LR folder, if any."""
    name = hr_dir.name[: -len("_HR")] if hr_dir.name.upper().endswith("_HR") else hr_dir.name
    return Dataset(name, hr_dir.parent, "ntire", hr_dir, {4: lr_dir} if lr_dir else {},
                   scales=(4,), image_files=image_files)


def _ntire_dataset(hr_dir: Path) -> Dataset:
    prefix = hr_dir.name[: -len("_HR")]
    parent = hr_dir.parent
    for cand in (f"{prefix}_LR", f"{prefix}_LR_bicubic/X4", f"{prefix}_LR_bicubic"):
        p = parent / cand
        if p.is_dir() and _images_in(p, "any"):
            return _ntire(hr_dir, p, "any")
    return _ntire(hr_dir, None, "any")


def ntire_folder(root: str | Path, name: str) -> Path | None:
    """The folder ``name`` directly under ``root``, or ``None`` when it is absent.

    The name is matched without regard to letter case (an exact match first), and an NTIRE prefix of
    :data:`NTIRE_ALIASES` may be spelt either way (``DIV2K_LSDIR_valid_HR`` is also found as
    ``LSDIR_DIV2K_valid_HR``, the spelling of the official NTIRE 2024 ``test_demo.py``).
    """
    root = Path(root)
    names = [name]
    for prefix, others in NTIRE_ALIASES.items():
        if name.startswith(f"{prefix}_"):
            names += [other + name[len(prefix):] for other in others]
    for n in names:
        found = _child(root, n)
        if found is not None:
            return found
    return None


def ntire_split(root: str | Path, hr_name: str, lr_name: str, *, image_files: str = "any") -> Dataset | None:
    """One NTIRE split under ``root``: HR folder ``hr_name`` + LR folder ``lr_name`` (``<prefix>_HR`` / ``_LR``).

    The folder names come from a challenge year's rules (``challenge.rules.YearRules.valid_layout``);
    each is looked up by :func:`ntire_folder` (letter case and :data:`NTIRE_ALIASES` spellings). Returns
    ``None`` when either folder is absent, else an x4-only ``"ntire"`` :class:`Dataset` named after the
    HR folder's prefix, whose :meth:`Dataset.pairs` (``lr_source="files"``) pairs ``<stem>.png`` with
    ``<stem>x4.png`` or ``<stem>.png`` (the NTIRE 2022 test set) and refuses an image with both.
    ``image_files`` is the :data:`IMAGE_FILE_RULES` rule: ``"png"`` reads the folder as the official
    ``test_demo.py`` does. Raises ``ValueError`` for an unknown rule.
    """
    _check_image_files(image_files)
    hr_dir, lr_dir = ntire_folder(root, hr_name), ntire_folder(root, lr_name)
    if hr_dir is None or lr_dir is None:
        return None
    return _ntire(hr_dir, lr_dir, image_files)


def _find_ntire_hr(folder: Path, split: str | None) -> Path | None:
    found = []
    for prefix in NTIRE_PREFIXES:
        p = _child(folder, f"{prefix}_HR")
        if p is not None:
            found.append((prefix, p))
    if not found:
        return None
    if split:
        matching = [p for prefix, p in found if f"_{split.lower()}" in prefix.lower()]
        if not matching:
            raise DatasetError(f"{folder}: no NTIRE {split} split (found {[p.name for _, p in found]})")
        return matching[0]
    valid = [p for prefix, p in found if prefix.endswith("valid")]
    return valid[0] if valid else found[0][1]


def samples_dataset() -> Dataset:
    """The built-in ``samples`` set: photographs that ship inside scikit-image."""
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    files = tuple(folder / n for n in SAMPLE_IMAGES if (folder / n).is_file())
    if not files:
        raise DatasetError(f"scikit-image's bundled images were not found in {folder}")
    return Dataset("samples", folder, "samples", folder, {}, hr_files_override=files)


def _from_path(path: Path, split: str | None) -> Dataset:
    if not path.exists():
        raise DatasetError(f"dataset folder {path} does not exist")
    if not path.is_dir():
        raise DatasetError(f"{path} is not a folder")
    if _child(path, "HR") is not None:
        return _benchmark_dataset(path)
    if path.name.upper().endswith("_HR"):
        return _ntire_dataset(path)
    ntire_hr = _find_ntire_hr(path, split)
    if ntire_hr is not None:
        return _ntire_dataset(ntire_hr)
    if _images_in(path, "any"):
        return Dataset(path.name, path, "folder", path, {})
    raise DatasetError(
        f"{path}: not a dataset: expected HR/ (+ LR_bicubic/X<s>/), NTIRE <prefix>_HR/ + <prefix>_LR/ "
        f"folders ({', '.join(NTIRE_PREFIXES)}), or image files"
    )


def resolve_dataset(name_or_path: str | Path, root: str | Path | None = None, split: str | None = None) -> Dataset:
    """A :class:`Dataset` from a known name (under ``root`` / ``$ESR_BENCH_DATA``), ``"samples"`` or a path.

    ``split`` (``"valid"``/``"test"``) picks the NTIRE split when a folder holds several (default: valid).
    """
    text = str(name_or_path)
    if text.lower() == "samples":
        return samples_dataset()
    path = Path(text).expanduser()
    if path.exists() or "/" in text or "\\" in text:
        return _from_path(path, split)
    canon = _canonical_benchmark(text)
    base = Path(root).expanduser() if root is not None else data_root()
    if base is None:
        known = ", ".join([*BENCHMARK_NAMES, "samples"])
        raise DatasetError(
            f"dataset {text!r}: set ESR_BENCH_DATA to the folder holding your datasets, or pass a path "
            f"(known names: {known})"
        )
    for candidate in BENCHMARK_NAMES[canon] if canon else (text,):
        p = _child(base, candidate)
        if p is not None:
            ds = _from_path(p, split)
            if canon:
                ds.name = canon
            return ds
    for prefix in NTIRE_PREFIXES:
        if text.lower() == prefix.lower():
            p = _child(base, f"{prefix}_HR")
            if p is not None:
                return _ntire_dataset(p)
    raise DatasetError(f"dataset {text!r} not found under {base} (known names: {', '.join(BENCHMARK_NAMES)})")


def list_datasets(root: str | Path | None = None) -> list[Dataset]:
    """Datasets found under ``root`` (default ``$ESR_BENCH_DATA``) plus the built-in ``samples``."""
    found: list[Dataset] = []
    base = Path(root).expanduser() if root is not None else data_root()
    if base is not None and base.is_dir():
        for p in sorted(base.iterdir()):
            if not p.is_dir():
                continue
            if _child(p, "HR") is not None:
                found.append(_benchmark_dataset(p))
            elif p.name.upper().endswith("_HR") and any(p.name[:-3].lower() == x.lower() for x in NTIRE_PREFIXES):
                found.append(_ntire_dataset(p))
    found.append(samples_dataset())
    return found
