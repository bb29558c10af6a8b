"""Foreign counter state: what thop / ptflops leave on a model after an interrupted or manual profile.

``thop.profile`` adds ``total_ops``/``total_params`` buffers and forward hooks to every module and removes
them only when the profile finishes; an exception in the user's own call leaves them behind (ptflops
likewise leaves ``__flops__``/``__flops_handle__`` attributes and hooks). Such a model counts wrong or
fails (thop's hooks add to buffers that a counter's copy no longer has), so counting runs on a cleaned
copy and the record lists what was removed.
"""

from __future__ import annotations

from torch import nn

__all__ = ["clean_foreign_state"]

_THOP_BUFFERS = ("total_ops", "total_params")
_PTFLOPS_ATTRS = ("__flops__", "__params__", "__flops_handle__", "__batch_counter__", "__batch_counter_handle__",
                  "start_flops_count", "stop_flops_count", "reset_flops_count", "compute_average_flops_cost")
_FOREIGN_PACKAGES = ("thop", "ptflops")


def _foreign_hook(fn: object) -> str | None:
    """The counter package a hook function comes from (``None`` for the user's own hooks)."""
    module = getattr(fn, "__module__", None) or getattr(getattr(fn, "func", None), "__module__", None) or ""
    return next((p for p in _FOREIGN_PACKAGES if module == p or module.startswith(p + ".")), None)


def clean_foreign_state(model: nn.Module) -> list[str]:
    """Remove thop / ptflops buffers, attributes and hooks from ``model`` **in place** (pass a copy).

    Returns one line per kind of state removed (e.g. ``"thop: total_ops/total_params buffers on 7
    modules"``), empty when the model was clean. The user's own hooks are kept.
    """
    buffers: dict[str, int] = {}
    hooks: dict[str, int] = {}
    attrs = 0
    for m in model.modules():
        for name in _THOP_BUFFERS:
            if name in m._buffers:
                del m._buffers[name]
                buffers[name] = buffers.get(name, 0) + 1
        for name in _PTFLOPS_ATTRS:
            if name in m.__dict__:
                if name == "__flops_handle__" or name == "__batch_counter_handle__":
                    m.__dict__[name].remove()
                del m.__dict__[name]
                attrs += 1
        for registry in (m._forward_hooks, m._forward_pre_hooks):
            for key, fn in list(registry.items()):
                pkg = _foreign_hook(fn)
                if pkg is not None:
                    del registry[key]
                    hooks[pkg] = hooks.get(pkg, 0) + 1
    out = []
    if buffers:
        out.append(f"thop: {'/'.join(b for b in _THOP_BUFFERS if b in buffers)} buffers on "
                   f"{max(buffers.values())} module(s)")
    for pkg, n in sorted(hooks.items()):
        out.append(f"{pkg}: {n} forward hooks")
    if attrs:
        out.append(f"ptflops: {attrs} counter attributes")
    return out
