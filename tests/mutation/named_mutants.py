"""Planted mutants that mutmut cannot generate (module-level rule data) or that a review found surviving.

mutmut 3 mutates code inside functions only; the challenge rules, the Y coefficients and the protocol
table are module-level data, so each such plausible wrong number is planted here by hand, one at a
time, in a copy of the working tree, and the named tests must fail. Run by ``nox -s mutation`` (or
``python tests/mutation/named_mutants.py`` from the repository root, ``ESR_BENCH_SHARED`` set).
Exit status 1 when a mutant survives or its source text is no longer found (update the list then).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    occurrence: int = 0  # which occurrence of ``old`` to replace (0 = first)


RULES_TESTS = ("tests/test_challenge_rules.py", "-k", "score or rules or threshold or official")
TRACK_TESTS = ("tests/test_challenge_figures.py", "-k", "rank_sum")
SCORE_TRACK_TESTS = ("tests/test_challenge_rules.py", "-k", "ranking_tracks")
COUNT_TESTS = ("tests/test_challenge_figures.py", "-k", "hook_years or fvcore_years")

MUTANTS = (
    Mutant("NTIRE 2024 weights -> (0.15, 0.7, 0.15)", "challenge/rules.py", "weights=ScoreWeights(0.7, 0.15, 0.15)",
           "weights=ScoreWeights(0.15, 0.7, 0.15)", RULES_TESTS, 0),
    Mutant("NTIRE 2025 weights permuted (runtime <-> FLOPs)", "challenge/rules.py",
           "weights=ScoreWeights(0.7, 0.15, 0.15)", "weights=ScoreWeights(0.15, 0.7, 0.15)", RULES_TESTS, 1),
    Mutant("NTIRE 2025 weights permuted (runtime <-> params)", "challenge/rules.py",
           "weights=ScoreWeights(0.7, 0.15, 0.15)", "weights=ScoreWeights(0.15, 0.15, 0.7)", RULES_TESTS, 1),
    Mutant("NTIRE 2026 weights permuted", "challenge/rules.py", "weights=ScoreWeights(0.8, 0.1, 0.1)",
           "weights=ScoreWeights(0.1, 0.8, 0.1)", RULES_TESTS),
    Mutant("NTIRE 2025 baseline runtime 16.69 -> 16.96", "challenge/rules.py", '"EFDN_x4.pth", 26.93, 27.01, 16.69',
           '"EFDN_x4.pth", 26.93, 27.01, 16.96', RULES_TESTS),
    Mutant("NTIRE 2026 test threshold 26.99 -> 26.98", "challenge/rules.py",
           'psnr_threshold={"valid": 26.90, "test": 26.99},\n        flops_counter="fvcore",\n        '
           'ranking=_SCORE_TRACKS,\n        weights=ScoreWeights(0.8',
           'psnr_threshold={"valid": 26.90, "test": 26.98},\n        flops_counter="fvcore",\n        '
           'ranking=_SCORE_TRACKS,\n        weights=ScoreWeights(0.8', RULES_TESTS),
    Mutant("NTIRE 2023 overall track without memory", "challenge/rules.py",
           '"overall (runtime, params, FLOPs, activations, memory)": METRICS,',
           '"overall (runtime, params, FLOPs, activations, memory)": METRICS[:4],', TRACK_TESTS),
    Mutant("NTIRE 2022 overall sub-track without memory", "challenge/rules.py",
           '"sub-track 2 (overall: runtime, params, FLOPs, activations, memory)": METRICS,',
           '"sub-track 2 (overall: runtime, params, FLOPs, activations, memory)": METRICS[:4],', TRACK_TESTS),
    Mutant("rank-sum metrics: memory -> activations", "challenge/rules.py",
           'METRICS = ("runtime", "params", "flops", "activations", "memory")',
           'METRICS = ("runtime", "params", "flops", "activations", "activations")', TRACK_TESTS),
    Mutant("NTIRE 2022 sub-track 1 params only", "challenge/rules.py",
           '"sub-track 1 (params + FLOPs)": ("params", "flops"),', '"sub-track 1 (params + FLOPs)": ("params",),',
           TRACK_TESTS),
    Mutant("NTIRE 2023 complexity track FLOPs only", "challenge/rules.py",
           '"model complexity (params + FLOPs)": ("params", "flops"),',
           '"model complexity (params + FLOPs)": ("flops",),', TRACK_TESTS),
    Mutant("NTIRE 2023 main track ranks FLOPs", "challenge/rules.py",
           '_RANK_SUM_2023 = {\n    "main (runtime)": ("runtime",),',
           '_RANK_SUM_2023 = {\n    "main (runtime)": ("flops",),', TRACK_TESTS),
    Mutant("NTIRE 2022 main track ranks params", "challenge/rules.py",
           '_RANK_SUM_2022 = {\n    "main (runtime)": ("runtime",),',
           '_RANK_SUM_2022 = {\n    "main (runtime)": ("params",),', TRACK_TESTS),
    Mutant("score years: FLOPs sub-track ranks params", "challenge/rules.py", '"sub-track FLOPs": ("flops",),',
           '"sub-track FLOPs": ("params",),', SCORE_TRACK_TESTS),
    Mutant("score years: runtime sub-track ranks FLOPs", "challenge/rules.py", '"sub-track runtime": ("runtime",),',
           '"sub-track runtime": ("flops",),', SCORE_TRACK_TESTS),
    Mutant("challenge worker 2022/2023 FLOPs conv-only", "challenge/worker.py", 'c.official["flops"] = n.flops / 1e9',
           'c.official["flops"] = n.conv_flops / 1e9', COUNT_TESTS),
    Mutant("challenge worker activations x1.01", "challenge/worker.py", 'activations=stats["acts"] / 1e6',
           'activations=stats["acts"] * 1.01 / 1e6', COUNT_TESTS),
    Mutant("challenge worker 2024+ FLOPs from the conv hook", "challenge/worker.py",
           'c.official["flops"] = total / 1e9', 'c.official["flops"] = stats["macs"] / 1e9', COUNT_TESTS),
    Mutant("challenge worker check PSNR border 4 -> 3", "challenge/worker.py", "border: int = 4",
           "border: int = 3", ("tests/test_challenge_rules.py", "-k", "check_psnr")),
    Mutant("Y coefficients R <-> B", "bench/metrics.py", "_Y_COEFFS = (65.481, 128.553, 24.966)",
           "_Y_COEFFS = (24.966, 128.553, 65.481)", ("tests/test_quality.py", "-k", "y_of_grey or scikit")),
    Mutant("NTIRE quality protocol border 4 -> 3", "bench/quality.py", '"ntire": {"channel": "RGB", "border": 4',
           '"ntire": {"channel": "RGB", "border": 3', ("tests/test_quality.py", "-k", "ntire_path")),
    Mutant("16-bit paper rule /257 -> /256", "bench/data.py", "/ 257.0 + 0.5", "/ 256.0 + 0.5",
           ("tests/test_one_rule.py", "-k", "16bit")),
)


def _copy_tree(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split("\n")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file() and not rel.startswith("mutants/"):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _apply(text: str, m: Mutant) -> str | None:
    at = -1
    for _ in range(m.occurrence + 1):
        at = text.find(m.old, at + 1)
        if at < 0:
            return None
    return text[:at] + m.new + text[at + len(m.old):]


def run(mutants: tuple[Mutant, ...] = MUTANTS) -> int:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    bad = 0
    with tempfile.TemporaryDirectory(prefix="esr-named-mutants-") as tmp:
        work = Path(tmp)
        _copy_tree(work)
        env["PYTHONPATH"] = str(work)

        def pytest(tests: tuple[str, ...]) -> int:
            return subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                                  cwd=work, env=env, capture_output=True, text=True).returncode

        for tests in dict.fromkeys(m.tests for m in mutants):  # the unmutated tree must pass first
            rc = pytest(tests)
            if rc != 0:
                print(f"BASELINE  {' '.join(tests)} fails on the unmutated tree (pytest rc {rc})")
                return 1
        for m in mutants:
            target = work / m.path
            original = target.read_text()
            mutated = _apply(original, m)
            if mutated is None:
                print(f"STALE     {m.name}: {m.old!r} not found in {m.path}")
                bad += 1
                continue
            target.write_text(mutated)
            try:
                rc = pytest(m.tests)
            finally:
                target.write_text(original)
            killed = rc == 1  # 1: a test failed (5: none collected, 2+: an error, neither is a kill)
            bad += not killed
            print(f"{'killed' if killed else 'SURVIVED':<9} {m.name}  ({m.path}; pytest rc {rc})")
    print(f"{len(mutants) - bad}/{len(mutants)} named mutants killed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(run())
