"""Validate a submission: static checks in this process, dynamic checks in a sandboxed child.

Static checks never execute submission code: file layout and naming, the model file's imports
(parsed with :mod:`ast`; packages outside the allowed list are extra dependencies, packages that are
not installed are errors), reduced-precision constructs, and the checkpoint's pickle stream
(disassembled with :mod:`pickletools`, never unpickled) for globals other than tensor rebuilds.
Dynamic checks run in :mod:`challenge.worker` under :func:`challenge.sandbox.run_in_sandbox`.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import pickletools
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .findings import ERROR, INFO, WARNING, Finding
from .manifest import CHECKPOINT_SUFFIXES, TeamEntry, load_manifest
from .sandbox import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, ChildResult, run_in_sandbox

__all__ = ["ValidationReport", "static_checks", "scan_pickle_globals", "validate_team", "validate_submission",
           "ALLOWED_PACKAGES", "EXTRA_PACKAGES"]

#: Third-party packages a submission may import without being flagged (the official environment).
ALLOWED_PACKAGES = frozenset({"torch", "torchvision", "numpy", "einops", "timm", "scipy", "cv2", "PIL", "fvcore",
                              "thop", "skimage", "tqdm", "yaml", "utils", "models", "matplotlib"})
#: Packages known from past submissions that organisers must install separately (often CUDA builds).
EXTRA_PACKAGES = frozenset({"mamba_ssm", "mmcv", "basicsr", "causal_conv1d", "selective_scan", "natten", "triton",
                            "dcn_v2", "flash_attn", "xformers", "kornia", "mmengine", "apex"})
#: Packages that need a build matching the local CUDA toolkit and torch (no CPU-only pip wheel).
CUDA_BUILD_PACKAGES = frozenset({"mamba_ssm", "mmcv", "basicsr", "causal_conv1d", "selective_scan", "natten",
                                 "dcn_v2", "flash_attn", "xformers", "apex"})


def dependency_hint(top: str) -> str:
    """What to do about a missing package ``top`` (a CUDA build needs more than ``pip install``)."""
    if top in CUDA_BUILD_PACKAGES:
        return (f"{top!r} needs a build compiled against the local CUDA toolkit and torch version (it has no "
                "CPU-only wheel): install it on the evaluation GPU machine, or ask the team for a pure-PyTorch path")
    return f"pip install {top}, or remove the import if it is unused"


_SAFE_GLOBALS = {("collections", "OrderedDict"), ("_codecs", "encode")} | {
    (b, n) for b in ("builtins", "__builtin__") for n in ("set", "frozenset", "bytearray", "slice")}
_SAFE_TORCH_MODULES = ("torch", "torch._utils", "torch._tensor", "torch.serialization", "torch.storage")


@dataclass
class ValidationReport:
    """Findings and measured figures of one team."""

    team: str
    entry: TeamEntry
    findings: list[Finding] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    official: dict[str, Any] = field(default_factory=dict)
    child_status: str = "not run"
    stage: str = ""
    wall_s: float = 0.0
    stderr_tail: str = ""
    isolation: str = "not run"
    env: dict[str, Any] = field(default_factory=dict)  # the child's environment (bench.env), when it ran

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors

    def codes(self, severity: str | None = None) -> set[str]:
        return {f.code for f in self.findings if severity is None or f.severity == severity}

    def to_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "ok": self.ok,
            "child_status": self.child_status,
            "stage": self.stage,
            "wall_s": round(self.wall_s, 3),
            "isolation": self.isolation,
            "findings": [f.to_dict() for f in self.findings],
            "metrics": self.metrics,
            "official": self.official,
            "entry": self.entry.to_job(),
        }


def scan_pickle_globals(path: str | Path) -> list[str]:
    """Globals (``module.name``) referenced by a checkpoint's pickle, found without unpickling.

    Handles the zip format of ``torch.save`` (``*/data.pkl``) and legacy single-stream pickles.
    """
    path = Path(path)
    streams: list[bytes] = []
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            streams = [zf.read(n) for n in zf.namelist() if n.endswith(".pkl")]
    else:
        streams = [path.read_bytes()]
    found: list[str] = []
    for data in streams:
        buf = io.BytesIO(data)
        for _ in range(6):  # legacy format: magic, protocol, sys info, object, storage keys
            memo: dict[int, Any] = {}
            strings: list[str] = []
            try:
                for op, arg, _pos in pickletools.genops(buf):
                    if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8", "SHORT_BINSTRING",
                                   "BINSTRING", "STRING"):
                        strings.append(str(arg))
                    elif op.name in ("BINPUT", "LONG_BINPUT", "PUT") and strings:
                        memo[int(arg)] = strings[-1]
                    elif op.name == "MEMOIZE" and strings:
                        memo[len(memo)] = strings[-1]
                    elif op.name in ("BINGET", "LONG_BINGET", "GET") and int(arg) in memo:
                        strings.append(memo[int(arg)])
                    elif op.name in ("GLOBAL", "INST"):
                        found.append(str(arg).replace(" ", "."))
                    elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                        found.append(f"{strings[-2]}.{strings[-1]}")
            except Exception:
                break
            if buf.tell() >= len(data):
                break
    return list(dict.fromkeys(found))


def _unsafe(glob: str) -> bool:
    module, _, name = glob.rpartition(".")
    if (module, name) in _SAFE_GLOBALS:
        return False
    return module not in _SAFE_TORCH_MODULES


def _local_module(name: str, entry: TeamEntry) -> bool:
    for base in (entry.root, entry.model_file.parent):
        if (base / f"{name}.py").is_file() or (base / name).is_dir():
            return True
    return False


def _check_imports(tree: ast.Module, entry: TeamEntry, findings: list[Finding]) -> None:
    stdlib = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
    guarded: set[int] = set()  # ids of nodes inside a try body (optional imports)
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for sub in node.body:
                guarded.update(id(n) for n in ast.walk(sub))
    seen: dict[str, int] = {}
    optional: dict[str, bool] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for n in names:
            top = n.split(".")[0]
            seen[top] = min(seen.get(top, node.lineno), node.lineno)
            optional[top] = optional.get(top, True) and id(node) in guarded
    fname = entry.model_file.name
    for top, line in sorted(seen.items(), key=lambda kv: kv[1]):
        if top in stdlib or top == "__future__" or _local_module(top, entry):
            continue
        installed = importlib.util.find_spec(top) is not None
        if not installed:
            findings.append(Finding(
                "missing-dependency", WARNING if optional[top] else ERROR,
                f"{fname}:{line} imports {top!r}, which is not installed"
                + (" (inside try: optional)" if optional[top] else f"; {dependency_hint(top)}")))
        elif top not in ALLOWED_PACKAGES:
            known = " (a known extra dependency, often a CUDA build)" if top in EXTRA_PACKAGES else ""
            findings.append(Finding("extra-dependency", WARNING,
                                    f"{fname}:{line} imports {top!r}, outside the allowed packages{known}; "
                                    "organisers must install it: list it in the fact sheet"))


def _check_precision(tree: ast.Module, entry: TeamEntry, findings: list[Finding]) -> None:
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("half", "autocast", "float16", "bfloat16"):
            hits.append(f"{node.attr} (line {node.lineno})")
        elif isinstance(node, ast.Name) and node.id == "autocast":
            hits.append(f"autocast (line {node.lineno})")
    if hits:
        findings.append(Finding("non-fp32", WARNING, f"{entry.model_file.name} uses reduced precision: "
                                f"{', '.join(dict.fromkeys(hits))}; the challenge evaluates fp32"))


def static_checks(entry: TeamEntry, allow_pickle: bool = False) -> list[Finding]:
    """Checks that read files only (no submission code runs)."""
    findings: list[Finding] = []
    stem = f"team{entry.team_id}_{entry.name}"
    if not re.fullmatch(r"\d{2}", entry.team_id):
        findings.append(Finding("layout", WARNING, f"team id {entry.team_id!r} is not two digits (official: 01..99)"))
    if not entry.model_file.is_file():
        findings.append(Finding("model-file-missing", ERROR, f"model file {entry.model_file} does not exist; put it "
                                f"at models/{stem}.py or set `model` in the manifest"))
    else:
        if entry.model_file.parent.name != "models" or entry.model_file.name != f"{stem}.py":
            findings.append(Finding("layout", WARNING, f"model file {entry.model_file.relative_to(entry.root)} "
                                    f"should be models/{stem}.py"))
        src = entry.model_file.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(src, filename=str(entry.model_file))
        except SyntaxError as exc:
            findings.append(Finding("syntax-error", ERROR, f"{entry.model_file.name}:{exc.lineno}: {exc.msg}"))
        else:
            _check_imports(tree, entry, findings)
            _check_precision(tree, entry, findings)
    ck = entry.checkpoint
    if ck is None or not ck.is_file():
        where = ck or f"model_zoo/{stem}.(pth|pt|ckpt)"
        findings.append(Finding("checkpoint-missing", ERROR, f"checkpoint {where} does not exist"))
    else:
        if ck.parent.name != "model_zoo" or ck.stem != stem or ck.suffix not in CHECKPOINT_SUFFIXES:
            findings.append(Finding("layout", WARNING, f"checkpoint {ck.name} should be model_zoo/{stem}"
                                    f"{ck.suffix if ck.suffix in CHECKPOINT_SUFFIXES else '.pth'}"))
        try:
            unsafe = [g for g in scan_pickle_globals(ck) if _unsafe(g)]
        except OSError as exc:
            findings.append(Finding("checkpoint-unreadable", ERROR, f"{ck.name}: {exc}"))
        else:
            if unsafe:
                fix = "Re-save a plain state dict: torch.save(model.state_dict(), path)"
                findings.append(Finding(
                    "pickled-objects", WARNING, f"{ck.name} pickles code/objects that unpickling would import or "
                    f"call: {unsafe[:8]}. --allow-pickle was given: it is unpickled with weights_only=False inside "
                    f"the sandbox, which runs that code. {fix}") if allow_pickle else Finding(
                    "pickled-objects", ERROR, f"{ck.name} pickles code/objects that unpickling would import or call: "
                    f"{unsafe[:8]}; it is refused (weights_only=True). {fix}; --allow-pickle unpickles it inside "
                    "the sandbox"))
    return findings


_STATIC_WINS = {"missing-dependency", "pickled-objects", "checkpoint-missing"}


def _merge(static: list[Finding], dynamic: list[Finding]) -> list[Finding]:
    have = {f.code for f in static if f.severity == ERROR}
    return static + [f for f in dynamic if not (f.code in _STATIC_WINS and f.code in have)]


def child_findings(child: ChildResult) -> list[Finding]:
    """Findings of the child run, plus one for a timeout / crash / OOM."""
    out = [Finding.from_dict(d) for d in (child.result or {}).get("findings", [])]
    t = child.limits.get("timeout_s")
    mem = child.limits.get("memory_mb")
    if child.status == "timeout":
        out.append(Finding("timeout", ERROR, f"killed after {t:g} s (wall-clock limit) during stage "
                           f"'{child.stage}': an infinite loop or a far too slow model"))
    elif child.status == "oom":
        out.append(Finding("out-of-memory", ERROR, f"exceeded the memory limit ({mem} MiB) during stage "
                           f"'{child.stage}' (exit {child.returncode})"))
    elif child.status == "crashed" and child.returncode == 0:
        out.append(Finding("crashed", ERROR, f"the child exited with code 0 during stage '{child.stage}' without "
                           "writing its result: the submission ended the process itself (os._exit / sys.exit / "
                           "exit() in its code?)"))
    elif child.status == "crashed":
        tail = (child.stderr_tail.strip().splitlines()[-1:] or [""])[0][:300]
        how = f"exit code {child.returncode}"
        if child.returncode is not None and child.returncode < 0:
            import signal

            try:
                how = f"killed by {signal.Signals(-child.returncode).name}"
            except ValueError:
                pass
        out.append(Finding("crashed", ERROR, f"the child died during stage '{child.stage}' ({how})"
                           + (f": {tail}" if tail else "")))
    return out


def validate_team(entry: TeamEntry, *, year: int | None = None, data: str | Path | None = None,
                  allow_pickle: bool = False, timeout_s: float = DEFAULT_TIMEOUT_S,
                  memory_mb: int | None = DEFAULT_MEMORY_MB, measure: str = "full") -> ValidationReport:
    """Static checks, then the dynamic checks in a sandboxed child (skipped when a file is missing).

    ``measure`` is ``"official"`` (only what the year's harness measures) or ``"full"`` (both FLOPs
    counters, robust runtime, data_range on every image).
    """
    rep = ValidationReport(team=entry.label, entry=entry)
    static = static_checks(entry, allow_pickle)
    fatal = {"model-file-missing", "syntax-error", "checkpoint-missing"}
    if any(f.code in fatal for f in static) or (
        any(f.code == "pickled-objects" for f in static) and not allow_pickle
    ):
        rep.findings = static
        if any(f.code == "pickled-objects" for f in static) and not allow_pickle:
            rep.findings.append(Finding("pickled-objects", INFO, "dynamic checks skipped: the checkpoint was not "
                                        "loaded (pass --allow-pickle to unpickle it inside the sandbox)"))
        return rep
    job = {"entry": entry.to_job(), "allow_pickle": allow_pickle, "year": year,
           "data": str(data) if data else None, "memory_mb": memory_mb, "measure": measure}
    child = run_in_sandbox(job, timeout_s=timeout_s, memory_mb=memory_mb)
    rep.isolation = child.limits.get("isolation", "?")
    rep.findings = _merge(static, child_findings(child))
    rep.child_status, rep.stage, rep.wall_s = child.status, child.stage, child.wall_s
    rep.stderr_tail = child.stderr_tail
    if child.result:
        rep.metrics = child.result.get("metrics", {})
        rep.official = child.result.get("official", {})
        rep.env = child.result.get("env") or {}
    return rep


def validate_submission(
    submission: str | Path, *, teams: list[str] | None = None, jobs: int = 1, **kwargs: Any
) -> list[ValidationReport]:
    """Validate every (or the selected) team of a submission's manifest, one child each.

    ``jobs > 1`` runs that many children at once (static checks only: never with ``data``, whose
    runtime measurement needs the machine to itself).
    """
    manifest = load_manifest(submission)
    if kwargs.get("year") is None:
        kwargs["year"] = manifest.year
    entries = manifest.select(teams)
    if jobs <= 1 or kwargs.get("data"):
        return [validate_team(t, **kwargs) for t in entries]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda t: validate_team(t, **kwargs), entries))


def format_report(rep: ValidationReport) -> str:
    """Human-readable findings of one team."""
    head = "PASS" if rep.ok else "FAIL"
    m, o = rep.metrics, rep.official
    child = {"ok": "child finished", "not run": "child not run"}.get(rep.child_status, f"child {rep.child_status}")
    lines = [f"{head} {rep.team} ({child}, {rep.wall_s:.1f} s, isolation: {rep.isolation})"]
    if "params" in m:
        before = m.get("params_before_forward")
        extra = f", before first forward {before}" if before != m["params"] else ""
        lines.append(f"  params {m['params']}{extra}")
    if "conv_macs_lr256" in m:
        fv = m.get("fvcore_flops_lr256")
        lines.append(f"  FLOPs (fvcore, 1x3x256x256) {'-' if fv is None else f'{fv / 1e9:.4f} G'}; NTIRE hook "
                     f"FLOPs {m['ntire22_hook_flops_lr256'] / 1e9:.4f} G; conv MACs {m['conv_macs_lr256'] / 1e9:.4f} G"
                     f"; activations {m['activations_lr256'] / 1e6:.4f} M; convs {m['convs_lr256']}")
    if "check_psnr" in m:
        lines.append(f"  check image PSNR {m['check_psnr']:.2f} dB (bicubic {m['check_psnr_bicubic']:.2f} dB)")
    for split in ("valid", "test"):
        if f"{split}_ave_psnr" in o:
            lines.append(f"  {split}: PSNR {o[f'{split}_ave_psnr']:.4f} dB, runtime {o[f'{split}_ave_runtime']:.2f} ms"
                         f" per image ({len(o.get(f'{split}_psnr', []))} images, {m.get('eval_device', '?')}, "
                         f"{m.get('threads', '?')} thread(s))")
    for f in rep.findings:
        lines.append(f"  [{f.severity}] {f.code}: {f.message}")
    return "\n".join(lines)
