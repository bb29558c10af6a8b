"""Tiny test submissions written into a temp folder: one valid model and one per failure mode."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import torch

TINY = '''
import torch
import torch.nn.functional as F
from torch import nn


class TinySR(nn.Module):
    """Bicubic x4 plus a small learned residual (zero-initialised tail)."""

    def __init__(self, channels=8):
        super().__init__()
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.tail = nn.Conv2d(channels, 3 * 16, 3, padding=1)
        self.up = nn.PixelShuffle(4)

    def forward(self, x):
        base = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
        return base + self.up(self.tail(torch.relu(self.head(x))))
'''

VARIANTS = {
    "wrongsize": "        base = F.interpolate(x, scale_factor=2, mode='bicubic', align_corners=False)\n"
                 "        return base\n",
    "nan": "        return self.up(self.tail(self.head(x))) * float('nan')\n",
    "crash": "        raise RuntimeError('boom in forward')\n",
    "hang": "        while True:\n            pass\n",
    # trained for inputs in [0, 255]: the learned bias is 0.5 grey level
    "half": "        base = F.interpolate(x, scale_factor=4, mode='bicubic', align_corners=False)\n"
            "        return (base + self.up(self.tail(self.head(x)))).half()\n",
    "hog": "        return torch.ones(1 << 40, dtype=torch.uint8)\n",
    "grow": "        xs = []\n        while True:\n            xs.append(torch.ones(25_000_000))\n",
    "segv": "        import ctypes\n        ctypes.string_at(0)\n",
    "range": "        base = F.interpolate(x, scale_factor=4, mode='bicubic', align_corners=False)\n"
             "        return base + 0.5 + 0 * self.up(self.tail(self.head(x)))\n",
}

SNEAKY = '''
import torch
import torch.nn.functional as F
from torch import nn


class _FastConv(torch.autograd.Function):
    """Stands in for a custom CUDA kernel: fvcore sees an opaque PythonOp."""

    @staticmethod
    def forward(ctx, x, w, b):
        return F.conv2d(x, w, b, padding=1)


class FastConv(nn.Conv2d):
    def forward(self, x):
        return _FastConv.apply(x, self.weight, self.bias)


class SneakySR(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = FastConv(3, 48, 3, padding=1)
        self.up = nn.PixelShuffle(4)
        self.cuda()  # moves itself to the GPU
        with torch.no_grad():
            self(torch.zeros(1, 3, 8, 8))  # warm-up inside the constructor

    def forward(self, x):
        base = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
        return base + self.up(self.body(x))
'''

LAZY = '''
import torch
import torch.nn.functional as F
from torch import nn


class LazySR(nn.Module):
    """Two parallel branches fused into one conv on the first forward (lazy re-parameterisation)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 48, 3, padding=1)
        self.b = nn.Conv2d(3, 48, 3, padding=1)
        self.fused = None
        self.up = nn.PixelShuffle(4)

    def forward(self, x):
        if self.fused is None:
            fused = nn.Conv2d(3, 48, 3, padding=1)
            fused.weight.data = self.a.weight.data + self.b.weight.data
            fused.bias.data = self.a.bias.data + self.b.bias.data
            del self.a, self.b
            self.fused = fused
        base = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
        return base + self.up(self.fused(x))
'''


def _tiny_with_forward(body: str) -> str:
    head, _ = TINY.split("    def forward(self, x):\n")
    return head + "    def forward(self, x):\n" + body


def _tiny_state(channels: int = 8) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    sd = {
        "head.weight": torch.randn(channels, 3, 3, 3) * 0.1,
        "head.bias": torch.zeros(channels),
        "tail.weight": torch.zeros(48, channels, 3, 3),
        "tail.bias": torch.zeros(48),
    }
    return sd


class Evil:
    """Unpickling this object writes a marker file (what a malicious checkpoint would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_team(root: Path, team_id: str, name: str, source: str, cls: str, state: object, **extra) -> None:
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "model_zoo").mkdir(parents=True, exist_ok=True)
    (root / "models" / f"team{team_id}_{name}.py").write_text(textwrap.dedent(source))
    torch.save(state, root / "model_zoo" / f"team{team_id}_{name}.pth")


def team_toml(team_id: str, name: str, cls: str, **extra: object) -> str:
    lines = ["[[team]]", f'id = "{team_id}"', f'name = "{name}"', f'class = "{cls}"']
    for k, v in extra.items():
        if isinstance(v, bool):
            lines.append(f"{k} = {'true' if v else 'false'}")
        elif isinstance(v, str):
            lines.append(f'{k} = "{v}"')
        else:
            lines.append(f"{k} = {v}")
    return "\n".join(lines) + "\n"


def make_zoo(root: Path, marker: Path) -> dict[str, str]:
    """Write every test team under ``root`` with one manifest; returns {case: team label}."""
    sd = _tiny_state()
    toml = ["year = 2024\n"]
    labels: dict[str, str] = {}

    def add(case: str, tid: str, name: str, source: str, cls: str, state: object, **extra: object) -> None:
        write_team(root, tid, name, source, cls, state)
        toml.append(team_toml(tid, name, cls, **extra))
        labels[case] = f"{tid}_{name}"

    add("valid", "01", "Tiny", TINY, "TinySR", {"params": sd}, key="params")
    add("wrongsize", "02", "WrongSize", _tiny_with_forward(VARIANTS["wrongsize"]), "TinySR", sd)
    add("nan", "03", "NaN", _tiny_with_forward(VARIANTS["nan"]), "TinySR", sd)
    add("crash", "04", "Crash", _tiny_with_forward(VARIANTS["crash"]), "TinySR", sd)
    add("hang", "05", "Hang", _tiny_with_forward(VARIANTS["hang"]), "TinySR", sd)
    add("pickled", "06", "Pickled", TINY, "TinySR", sd)
    _save_module_object(root / "models" / "team06_Pickled.py", sd, root / "model_zoo" / "team06_Pickled.pth")
    missing = {k: v for k, v in sd.items() if not k.startswith("tail")}
    add("missing", "07", "Missing", TINY, "TinySR", missing, strict=True)
    add("range", "08", "Range", _tiny_with_forward(VARIANTS["range"]), "TinySR", sd, data_range=1.0)
    add("lazy", "09", "Lazy", LAZY, "LazySR", _lazy_state())
    add("import", "10", "Import", "import not_a_real_package_xyz\n" + TINY, "TinySR", sd)
    add("evil", "11", "Evil", TINY, "TinySR", {"params": sd, "meta": Evil(marker)})
    add("nonstrict", "12", "NonStrict", TINY, "TinySR", missing, strict=False)
    sneaky = {"body.weight": torch.zeros(48, 3, 3, 3), "body.bias": torch.zeros(48)}
    add("sneaky", "13", "Sneaky", SNEAKY, "SneakySR", sneaky)
    add("half", "14", "Half", _tiny_with_forward(VARIANTS["half"]), "TinySR", sd)
    add("hog", "15", "Hog", _tiny_with_forward(VARIANTS["hog"]), "TinySR", sd)
    add("segv", "16", "Segv", _tiny_with_forward(VARIANTS["segv"]), "TinySR", sd)
    # official repos: a model file importing a sibling through the `models.` namespace
    add("sibling", "17", "Sibling", "from models.team17_blocks import TinySR  # noqa: F401\n", "TinySR", sd)
    (root / "models" / "team17_blocks.py").write_text(textwrap.dedent(TINY))
    (root / "submission.toml").write_text("\n".join(toml))
    return labels


def _save_module_object(model_file: Path, sd: dict[str, torch.Tensor], dest: Path) -> None:
    """torch.save a whole nn.Module instance; its class pickles as ``<model file stem>.TinySR``."""
    spec = importlib.util.spec_from_file_location(model_file.stem, model_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[model_file.stem] = module
    try:
        spec.loader.exec_module(module)
        net = module.TinySR()
        net.load_state_dict(sd)
        torch.save(net, dest)
    finally:
        del sys.modules[model_file.stem]


def _lazy_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    return {
        "a.weight": torch.randn(48, 3, 3, 3) * 1e-3, "a.bias": torch.zeros(48),
        "b.weight": torch.randn(48, 3, 3, 3) * 1e-3, "b.bias": torch.zeros(48),
    }


def make_single(root: Path, team_id: str = "01", name: str = "Tiny", variant: str | None = None) -> Path:
    """One team (valid unless ``variant`` names a broken forward) with a top-level manifest."""
    src = _tiny_with_forward(VARIANTS[variant]) if variant else TINY
    write_team(root, team_id, name, src, "TinySR", {"params": _tiny_state()})
    (root / "submission.toml").write_text(
        f'id = "{team_id}"\nname = "{name}"\nclass = "TinySR"\nkey = "params"\ndata_range = 1.0\n'
    )
    return root


REPARAM = '''
import torch
import torch.nn.functional as F
from torch import nn


class RepConv(nn.Module):
    """3x3 conv with a parallel 1x1 branch; switch_deploy() folds the 1x1 into the 3x3 centre tap."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv3 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv1 = nn.Conv2d(cin, cout, 1)
        self.deployed = False

    def forward(self, x):
        return self.conv3(x) if self.deployed else self.conv3(x) + self.conv1(x)

    def switch_deploy(self):
        self.conv3.weight.data[:, :, 1, 1] += self.conv1.weight.data[:, :, 0, 0]
        self.conv3.bias.data += self.conv1.bias.data
        del self.conv1
        self.deployed = True


class RepSR(nn.Module):
    def __init__(self, channels=8, note="x"):
        super().__init__()
        assert note is None, "the manifest's null must arrive as None"
        self.head = RepConv(3, channels)
        self.tail = nn.Conv2d(channels, 3 * 16, 3, padding=1)
        self.up = nn.PixelShuffle(4)

    def forward(self, x):
        base = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
        return base + self.up(self.tail(torch.relu(self.head(x))))

    def load_weights(self, path):
        self.load_state_dict(torch.load(path, weights_only=True)["net"], strict=True)

    def fuse(self):
        for m in self.modules():
            if isinstance(m, RepConv):
                m.switch_deploy()
'''


def reparam_state(channels: int = 8) -> dict[str, torch.Tensor]:
    """Unfused RepSR weights: small random head (both branches), small random tail."""
    g = torch.Generator().manual_seed(3)
    return {
        "head.conv3.weight": torch.randn(channels, 3, 3, 3, generator=g) * 0.1,
        "head.conv3.bias": torch.randn(channels, generator=g) * 0.01,
        "head.conv1.weight": torch.randn(channels, 3, 1, 1, generator=g) * 0.1,
        "head.conv1.bias": torch.randn(channels, generator=g) * 0.01,
        "tail.weight": torch.randn(48, channels, 3, 3, generator=g) * 1e-3,
        "tail.bias": torch.zeros(48),
    }


OFFSET = '''
import torch
import torch.nn.functional as F
from torch import nn


class OffsetSR(nn.Module):
    """Bicubic x4 plus a learned constant, trained on inputs in [0, 1] (the constant is 6/255)."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False) + self.bias
'''


def write_offset_data(root: Path, year_prefix: str = "DIV2K_LSDIR", n: int = 2) -> None:
    """NTIRE-layout images whose HR is torch-bicubic(LR) + 6 grey levels (+-1 noise): a model trained
    on [0, 1] input that adds 6/255 is near perfect in range 1.0 and 6 levels off in range 255."""
    import numpy as np
    import torch.nn.functional as F
    from PIL import Image

    rng = np.random.default_rng(5)
    for split, count in (("valid", n), ("test", 1)):
        hr_dir, lr_dir = root / f"{year_prefix}_{split}_HR", root / f"{year_prefix}_{split}_LR"
        hr_dir.mkdir(parents=True)
        lr_dir.mkdir(parents=True)
        for i in range(count):
            yy, xx = np.mgrid[0:16, 0:17]
            wave = np.sin(xx / 3.0 + i)[..., None] * np.cos(yy / 4.0)[..., None]
            lr = 120 + 50 * wave + rng.normal(0, 4, (16, 17, 3))
            lr = np.clip(lr, 40, 200).astype(np.uint8)
            up = F.interpolate(torch.from_numpy(lr / 255.0).permute(2, 0, 1)[None].float(), scale_factor=4,
                               mode="bicubic", align_corners=False)
            hr = np.round(up[0].permute(1, 2, 0).numpy().clip(0, 1) * 255) + 6 + rng.integers(-1, 2, (64, 68, 3))
            name = f"{i + 1:04d}"
            Image.fromarray(lr).save(lr_dir / f"{name}x4.png")
            Image.fromarray(hr.clip(0, 255).astype(np.uint8)).save(hr_dir / f"{name}.png")


HOSTILE = "import socket\nimport subprocess\nimport sys\n" + TINY + '''

class WriteSR(TinySR):
    """Writes a file outside its scratch folder while being built."""

    def __init__(self, target):
        super().__init__()
        with open(target, "w") as f:
            f.write("escaped the sandbox")


class NetSR(TinySR):
    """Opens a TCP connection while being built."""

    def __init__(self, port):
        super().__init__()
        socket.create_connection(("127.0.0.1", port), timeout=5).sendall(b"leak")


class SpawnSR(TinySR):
    """Starts a daemon (own session) that would outlive the evaluation."""

    def __init__(self, marker):
        super().__init__()
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''


class EvilNet:
    """Unpickling this object opens a TCP connection to ``port`` on the loopback interface."""

    def __init__(self, port: int) -> None:
        self.port = port

    def __reduce__(self):
        import socket

        return (socket.create_connection, (("127.0.0.1", self.port), 5))
