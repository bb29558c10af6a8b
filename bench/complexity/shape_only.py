"""Shape-only execution: run a model's forward with correct shapes but without doing the arithmetic.

Every counter in this package needs output *shapes*, never values. :class:`ShapeOnlyMode` is a
``TorchDispatchMode`` that intercepts each ATen operator and, instead of computing it, returns an
uninitialised CPU tensor of the right size, dtype and strides ("placeholder" tensors, flagged with the
attribute ``_esr_shape_only``). Shapes come from PyTorch's own ``meta`` kernels, so they are exactly
what a real run produces. Because the placeholders are ordinary CPU tensors, hook-based counters
(thop, ptflops, the NTIRE hooks), ``FlopCounterMode`` and fvcore's ``torch.jit`` tracer all work
unchanged; a 20-GMAC model is counted in a fraction of a second.

Rules:
- view operators run for real on the placeholder (no data is touched, aliasing is kept);
- in-place operators return their (placeholder) destination;
- element-wise operators get the broadcast shape and the promoted dtype;
- everything else is shape-inferred by the operator's meta kernel. Python meta kernels read tensor
  sizes, which ``torch.jit`` tracing would turn into traced tensors, so meta kernels run in a helper
  thread that has no tracing state;
- operators whose tensor inputs are all real and tiny (shape arithmetic, scalars) run for real;
- reading a placeholder's value (``.item()``, ``nonzero``, ``unique`` ...) raises
  :class:`DataDependentError`: the model's control flow depends on data, and the caller must count it
  with real tensors instead (``measure_complexity`` does so automatically).

Limitation: reads that bypass the dispatcher (``Tensor.tolist()``, ``.numpy()``, ``data_ptr`` tricks)
cannot be intercepted and would see undefined values; count such models with ``execution="real"``.
Every zoo model is checked against official real-run integers in ``tests/test_complexity.py``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map

__all__ = ["ShapeOnlyMode", "DataDependentError", "is_placeholder", "inside_shape_inference"]

_STATE = threading.local()


def inside_shape_inference() -> bool:
    """True while a meta kernel runs for :class:`ShapeOnlyMode` (Python-level counters must not count it)."""
    return getattr(_STATE, "depth", 0) > 0

_FLAG = "_esr_shape_only"
_aten = torch.ops.aten

# Operators that expose tensor values to Python or whose output shape depends on values.
_DATA_DEPENDENT = {
    _aten._local_scalar_dense.default,
    _aten.nonzero.default,
    _aten.masked_select.default,
    _aten.unique_dim.default,
    _aten._unique2.default,
    _aten.unique_consecutive.default,
    _aten.equal.default,
    _aten.is_nonzero.default,
    _aten.allclose.default,
}

# Element-wise operators with one or two tensor/scalar operands whose result dtype is the usual promotion.
_ELEMENTWISE = {
    _aten.add.Tensor, _aten.add.Scalar, _aten.sub.Tensor, _aten.sub.Scalar, _aten.mul.Tensor,
    _aten.mul.Scalar, _aten.div.Tensor, _aten.div.Scalar, _aten.rsub.Scalar, _aten.rsub.Tensor,
    _aten.pow.Tensor_Scalar, _aten.pow.Tensor_Tensor, _aten.maximum.default, _aten.minimum.default,
    _aten.clamp_min.default, _aten.clamp_max.default, _aten.clamp.default, _aten.neg.default,
    _aten.abs.default, _aten.sqrt.default, _aten.rsqrt.default, _aten.exp.default, _aten.log.default,
    _aten.reciprocal.default, _aten.sigmoid.default, _aten.tanh.default, _aten.relu.default,
    _aten.gelu.default, _aten.silu.default, _aten.leaky_relu.default, _aten.hardtanh.default,
    _aten.elu.default, _aten.hardswish.default, _aten.hardsigmoid.default, _aten.mish.default,
    _aten.softplus.default, _aten.sin.default, _aten.cos.default, _aten.erf.default,
    _aten._prelu_kernel.default, _aten.prelu.default,
}
_FLOAT_RESULT = {_aten.div.Tensor, _aten.div.Scalar, _aten.sqrt.default, _aten.rsqrt.default, _aten.exp.default,
                 _aten.log.default, _aten.reciprocal.default, _aten.sigmoid.default, _aten.tanh.default,
                 _aten.sin.default, _aten.cos.default, _aten.erf.default}


_TRACER_SKIPS = {_aten.convolution.default}


class DataDependentError(RuntimeError):
    """The model reads tensor values (``.item()``, ``nonzero`` ...): it cannot be counted shape-only."""


def is_placeholder(t: Any) -> bool:
    """True for a tensor produced by :class:`ShapeOnlyMode` (its values are undefined)."""
    return isinstance(t, torch.Tensor) and getattr(t, _FLAG, False)


def _mark(t: Any) -> Any:
    if isinstance(t, torch.Tensor):
        setattr(t, _FLAG, True)
    return t


class _MetaThread:
    """A helper thread without jit tracing state that runs meta kernels on request."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="esr-shape-only", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, box, done = job
            try:
                box.append((True, fn()))
            except BaseException as exc:  # re-raised in the caller's thread
                box.append((False, exc))
            done.set()

    def run(self, fn: Callable[[], Any]) -> Any:
        if torch._C._get_tracing_state() is None:  # not tracing: no need to leave this thread
            return fn()
        box: list = []
        done = threading.Event()
        self._jobs.put((fn, box, done))
        done.wait()
        ok, value = box[0]
        if ok:
            return value
        raise value

    def close(self) -> None:
        self._jobs.put(None)


def _to_meta(t: Any) -> Any:
    if isinstance(t, torch.Tensor):
        return torch.empty_strided(tuple(t.size()), tuple(t.stride()), dtype=t.dtype, device="meta")
    if isinstance(t, torch.device):
        return torch.device("meta")
    return t


def _placeholder_like(t: Any, device: torch.device) -> Any:
    if isinstance(t, torch.Tensor):
        return _mark(torch.empty_strided(tuple(t.size()), tuple(t.stride()), dtype=t.dtype, device=device))
    return t


class ShapeOnlyMode(TorchDispatchMode):
    """Dispatch mode that replaces arithmetic by shape inference (see the module docstring).

    ``small``: tensors with at most this many elements whose values are all real are computed for real
    (shape arithmetic under tracing, scalars). ``ops_seen`` counts every ATen operator that ran.
    """

    def __init__(self, small: int = 64) -> None:
        super().__init__()
        self.small = small
        self.ops_seen: dict[str, int] = {}
        self._meta = _MetaThread()

    def __exit__(self, *exc: Any) -> Any:
        try:
            return super().__exit__(*exc)
        finally:
            self._meta.close()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 - torch's signature
        kwargs = kwargs or {}
        name = func.name()
        self.ops_seen[name] = self.ops_seen.get(name, 0) + 1
        if func in _TRACER_SKIPS and torch._C._get_tracing_state() is not None:
            # The jit tracer does not record these operators itself: it records the
            # aten::_convolution that their kernel calls. Call it (through this mode) so that the
            # trace holds the same node as a real run.
            tracer = torch._C._dispatch_key_parse("Tracer")
            excluded = torch._C._dispatch_tls_is_dispatch_key_excluded(tracer)
            torch._C._dispatch_tls_set_dispatch_key_excluded(tracer, False)
            try:
                with self:
                    return _aten._convolution.default(*args, False, False, True, True)
            finally:
                torch._C._dispatch_tls_set_dispatch_key_excluded(tracer, excluded)
        tensors = _tensors_in(args, kwargs)
        placeholders = any(getattr(t, _FLAG, False) for t in tensors)
        if func in _DATA_DEPENDENT and placeholders:
            raise DataDependentError(f"{name} reads tensor values; count this model with real tensors")
        # (sizes come from storage bytes: under jit tracing, Python-level sizes would be traced tensors)
        tiny = all(t.untyped_storage().nbytes() <= 8 * self.small for t in tensors)
        if not placeholders and tiny and not _is_factory_big(func, args):
            return func(*args, **kwargs)
        schema = func._schema
        if schema.is_mutable and schema.returns and schema.returns[0].alias_info is not None:
            # in-place / out= operator: the destination keeps its (undefined) values
            return args[0] if len(schema.returns) == 1 else tuple(args[: len(schema.returns)])
        if torch.Tag.view_copy not in func.tags and _is_view(func):
            return tree_map(_mark, func(*args, **kwargs))
        if tensors:
            device = tensors[0].device
        else:  # factory operator: honour its device argument
            device = torch.device(kwargs.get("device") or "cpu")
        if func in _ELEMENTWISE:
            return self._meta.run(lambda: _elementwise(func, args, kwargs, device))

        def run_meta() -> Any:
            margs = tree_map(_to_meta, args)
            mkwargs = tree_map(_to_meta, kwargs)
            if "device" in kwargs:
                mkwargs["device"] = torch.device("meta")
            _STATE.depth = getattr(_STATE, "depth", 0) + 1
            try:
                with torch.no_grad():
                    out = func(*margs, **mkwargs)
            finally:
                _STATE.depth -= 1
            return tree_map(lambda t: _placeholder_like(t, device), out)

        return self._meta.run(run_meta)


def _tensors_in(args: tuple, kwargs: dict) -> list[torch.Tensor]:
    """Tensors among the operator's arguments (ATen arguments nest at most one list deep)."""
    out = []
    for a in (*args, *kwargs.values()):
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(t for t in a if isinstance(t, torch.Tensor))
    return out


def _is_view(func) -> bool:  # noqa: ANN001
    schema = func._schema
    return bool(schema.returns) and all(
        r.alias_info is not None and not r.alias_info.is_write for r in schema.returns
    ) and not schema.is_mutable


def _is_factory_big(func, args) -> bool:  # noqa: ANN001
    """Factory calls (zeros/ones/empty/full) without tensor inputs but with a large size."""
    if not args or not isinstance(args[0], (list, tuple)):
        return False
    n = 1
    for d in args[0]:
        if not isinstance(d, int):
            return False
        n *= d
    return n > 4096


def _elementwise(func, args, kwargs, device):  # noqa: ANN001
    operands = [a for a in args if isinstance(a, (torch.Tensor, int, float, bool))]
    tensors = [a for a in operands if isinstance(a, torch.Tensor)]
    shape = torch.broadcast_shapes(*(tuple(t.size()) for t in tensors))
    if len(operands) >= 2 and func not in (_aten.clamp.default, _aten.hardtanh.default):
        dtype = torch.result_type(operands[0], operands[1])
    else:
        dtype = tensors[0].dtype
    if func in _FLOAT_RESULT and not dtype.is_floating_point:
        dtype = torch.get_default_dtype()
    return _mark(torch.empty(shape, dtype=dtype, device=device))
