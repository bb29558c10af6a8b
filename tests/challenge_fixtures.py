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


# Excerpts in the style of the official NTIRE ESR test_demo.py files (written for these tests).
DEMO_2025 = '''import os.path
import torch
from torch.nn import functional as F


def select_model(args, device):
    model_id = args.model_id
    if model_id == 0:
        from models.team00_Base import BaseNet
        name, data_range = f"{model_id:02}_Base_baseline", 1.0
        model_path = os.path.join('model_zoo', 'team00_base.pth')
        model = BaseNet()
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 1:
        pass
    elif model_id == 7:
        from models.team07_RepA import RepA
        name, data_range = f"{model_id:02}_RepA", 1.0
        model_path = os.path.join('model_zoo', 'team07_RepA.pth')
        model = RepA(fea_ch=32, mode='deploy', mean=[0.4, 0.5, 0.6], extra=None)
        model.load_state_dict(torch.load(model_path)["params"], strict=True)
        for module in model.modules():
            if hasattr(module, 'switch_deploy'):
                module.switch_deploy()
    elif model_id == 12:
        import importlib
        model_module = importlib.import_module(f'models.team{model_id:02}_Span')
        name, data_range = f"{model_id:02}_Span", 1.0
        model = getattr(model_module, 'SpanLite')(3, 3, upscale=4, feature_channels=28).eval().to(device)
        model_path = os.path.join('model_zoo', f'team12_span.pth')
        stat_dict = torch.load(model_path)['params_ema']
        model.load_state_dict(stat_dict, strict=False)
    elif model_id == 20:
        from models.team20_Loader import MambaLite
        name, data_range = f"{model_id:02}_MambaLite", 1.0
        model_path = os.path.join('model_zoo', 'team20_mamba.pth')
        model = MambaLite()
        model.load_weights(model_path)
    elif model_id == 21:
        from models.team21_Pkg.arch import PkgNet
        name, data_range = f"{model_id:02}_PkgNet", 255.0
        model_path = './model_zoo/team21_pkg.pt'
        model = PkgNet()
        state_dict = torch.load(model_path)
        model.load_state_dict(state_dict['params'])
        model.repa()
        model = model.cuda()
    elif model_id == 22:
        from models.team22_Odd import OddNet
        name, data_range = f"{model_id:02}_Odd", 1.0
        model_path = os.path.join('model_zoo', 'team22_odd.pth')
        model = OddNet(cfg=build_config())
        model.load_state_dict(torch.load(model_path), strict=True)
        model.half()
        model.set_mode('fast')
    else:
        raise NotImplementedError(f"Model {model_id} is not implemented.")
    model.eval()
    tile = None
    return model, name, data_range, tile


def forward(img_lq, model, tile=None, tile_overlap=32, scale=4):
    return model(img_lq)


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser("NTIRE2025-EfficientSR")
'''

DEMO_2024 = '''import os.path
import torch
from torch.nn import functional as F  # for team 34


def select_model(args, device):
    model_id = args.model_id
    if model_id == 0:
        from models.team00_RLFN import RLFN_Prune
        name, data_range = f"{model_id:02}_RLFN_baseline", 255.0
        model_path = os.path.join('model_zoo', 'team00_rlfn.pth')
        model = RLFN_Prune()
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 18:
        from models.team18_Win import WinSR
        name, data_range = f"{model_id:02}_WinSR", 1.0
        model_path = os.path.join('model_zoo', 'team18_win.pth')
        model = WinSR(depths=(6, 4), head_dim=None, img_range=1., window_size=16)
        model.load_state_dict(torch.load(model_path)['params_ema'], strict=True)
        tile = 256
    elif model_id == 25:
        from models.team25_Dp import DpNet
        name, data_range = f"{model_id:02}_DpNet", 1.0
        model_path = os.path.join('model_zoo', 'team25_dp.pth')
        model = DpNet()
        state_dict = torch.load(model_path)
        new_state_dict = dict()
        for k, v in state_dict.items():
            new_state_dict[k.replace("module.", "")] = v
        model.load_state_dict(new_state_dict, strict=True)
    elif model_id == 34:
        from models.team34_Craft import Craft
        name, data_range = f"{model_id:02}_Craft", 255.0
        model_path = os.path.join('model_zoo', 'team34_craft.pth')
        model = Craft(upscale=4, window_size=16)
        loadnet = torch.load(model_path)
        if 'params_ema' in loadnet:
            keyname = 'params_ema'
        else:
            keyname = 'params'
        model.load_state_dict(loadnet[keyname], strict=True)
    else:
        raise NotImplementedError(f"Model {model_id} is not implemented.")
    return model, name, data_range, None


def forward_team34(img_lq, model, tile=None, tile_overlap=32, scale=4):
    window_size = 16
    _, _, h, w = img_lq.size()
    mod_pad_h = (window_size - h % window_size) % window_size
    mod_pad_w = (window_size - w % window_size) % window_size
    img = F.pad(img_lq, (0, mod_pad_w, 0, mod_pad_h), 'reflect')
    output = model(img)
    return output[:, :, :h * scale, :w * scale]


def main(args):
    utils_logger.logger_info("NTIRE2024-EfficientSR", log_path="NTIRE2024-EfficientSR.log")
'''
