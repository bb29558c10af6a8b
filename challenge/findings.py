"""Named findings of submission checks: a stable ``code``, a severity and an actionable message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Finding", "ERROR", "WARNING", "INFO", "CODES"]

ERROR, WARNING, INFO = "error", "warning", "info"

#: Every finding code with what it means (the message says what to do about it).
CODES: dict[str, str] = {
    "manifest": "the manifest cannot be used",
    "layout": "file naming / folder layout differs from the official models/teamXX_Name.py + model_zoo/",
    "model-file-missing": "the model file does not exist",
    "syntax-error": "the model file does not parse",
    "missing-dependency": "the model file imports a package that is not installed",
    "extra-dependency": "the model file needs a package outside the allowed list (organisers must install it)",
    "checkpoint-missing": "the checkpoint file does not exist",
    "pickled-objects": "the checkpoint pickles code or modules (refused by weights_only=True)",
    "checkpoint-unreadable": "the checkpoint is corrupt / not a PyTorch file",
    "pickle-allowed": "--allow-pickle: the checkpoint was unpickled with weights_only=False inside the sandbox",
    "state-dict-key": "the declared nesting key / prefix does not match the checkpoint",
    "state-dict-mismatch": "strict loading fails: missing / unexpected / mis-shaped keys",
    "non-strict-missing-keys": "strict = false hides keys the model has but the checkpoint lacks",
    "non-strict-unexpected-keys": "strict = false ignores checkpoint keys the model does not have",
    "import-error": "importing the model file raised",
    "class-not-found": "the class named in the manifest is not in the model file",
    "constructor-error": "building the model raised",
    "cuda-in-constructor": "the constructor moves the model to CUDA (the harness must decide the device)",
    "forward-in-constructor": "the constructor runs forward passes (warm-up gains on the first timed image)",
    "forward-error": "the forward pass raised",
    "wrong-output-size": "the output is not the x4 upscaled image (1, 3, 4H, 4W)",
    "non-fp32": "fp16 / autocast / non-float32 output (the challenge runs fp32)",
    "non-finite-output": "the output has NaN or Inf",
    "non-deterministic": "two forwards of the same input differ",
    "params-change-after-forward": "the parameter count changes in the first forward (lazy re-parameterisation)",
    "wrong-data-range": "the other data_range gives higher PSNR (on the real images with --data)",
    "data-range-confirmed": "the synthetic check image disagreed, the real images confirm the declared data_range",
    "post-load-error": "a post_load step (method call / loader) is missing or raised",
    "sandbox-blocked": "the submission tried to write outside its scratch folder or use the network; refused",
    "low-psnr": "PSNR on the synthetic check image is far below bicubic (untrained or wrong weights?)",
    "fvcore-undercount": "fvcore misses convolutions (string padding, custom kernels): warned with their MACs",
    "fvcore-unsupported": "fvcore skipped operators it cannot count",
    "flops-failed": "the FLOPs counter failed",
    "timeout": "the child process exceeded the wall-clock limit and was killed",
    "out-of-memory": "the child process exceeded the memory limit",
    "crashed": "the child process died without a result (segfault, killed, ...)",
    "not-available": "a measurement module is not installed on this branch / machine",
    "dataset-missing": "the --data folder lacks the year's valid/test layout",
    "evaluation-error": "the evaluation on --data raised",
    "below-threshold": "PSNR below the year's threshold (raw value; the 2-decimal display may hide it)",
}


@dataclass
class Finding:
    """One check result; ``code`` is one of :data:`CODES`."""

    code: str
    severity: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(d["code"], d["severity"], d["message"])
