"""``esr-bench challenge``: validate, run and rank NTIRE Efficient-SR submissions.

``validate SUBMISSION`` runs static checks and, in a sandboxed child, dynamic checks (forward, params,
FLOPs, data_range; with --data the full NTIRE evaluation). ``run SUBMISSION --out DIR`` does it for every
team of the manifest, one JSON record per team, resumable. ``rank RESULTS`` scores and ranks records or
an official results.json under a year's rules and writes an official-style results.txt.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.errors import UserError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("submission", help="submission folder holding submission.toml/.yaml, or the manifest file")
    p.add_argument("--year", type=int, default=None, help="challenge rules (2022-2026; default: manifest's year)")
    p.add_argument("--data", default=None, help="folder with the year's valid/test HR+LR folders (full evaluation)")
    p.add_argument("--teams", nargs="*", default=None, help="only these team ids / names")
    p.add_argument("--allow-pickle", action="store_true",
                   help="unpickle checkpoints that hold code/modules with weights_only=False: this RUNS the code "
                        "they pickle, inside the sandboxed child (see `isolation` in the output)")
    p.add_argument("--timeout", type=float, default=None, help="wall-clock limit per team in seconds (default 300)")
    p.add_argument("--memory-mb", type=int, default=None, help="address-space limit per team (default 8192 MiB)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _limits(args: argparse.Namespace) -> dict:
    from challenge.sandbox import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S

    return {"timeout_s": args.timeout or DEFAULT_TIMEOUT_S, "memory_mb": args.memory_mb or DEFAULT_MEMORY_MB}


def _check_year(year: int | None) -> None:
    if year is not None:
        from challenge.rules import get_rules

        try:
            get_rules(year)
        except ValueError as exc:
            raise UserError(str(exc)) from None


def _validate(args: argparse.Namespace) -> int:
    from challenge.manifest import ManifestError
    from challenge.validate import format_report, validate_submission

    _check_year(args.year)
    try:
        reports = validate_submission(args.submission, teams=args.teams, year=args.year, data=args.data,
                                      allow_pickle=args.allow_pickle, jobs=args.jobs, measure=args.measure,
                                      **_limits(args))
    except ManifestError as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2, default=str))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 0 if all(r.ok for r in reports) else 1


def _run(args: argparse.Namespace) -> int:
    from challenge.manifest import ManifestError
    from challenge.runner import run_submissions

    _check_year(args.year)

    from challenge.runner import format_outcome

    def show(oc) -> None:
        if not args.json:
            print(format_outcome(oc), flush=True)

    executor = None
    if args.executor != "local" or args.address:
        import shutil

        from bench.executors import make_executor

        try:  # timing devices: the cluster's GPUs when this machine has them (each timed team gets one)
            executor = make_executor(args.executor, "cuda" if shutil.which("nvidia-smi") else "cpu",
                                     address=args.address)
        except (RuntimeError, ValueError) as exc:
            raise UserError(f"--executor {args.executor}: {exc}") from None
    try:
        outcomes = run_submissions(args.submission, args.out, year=args.year, data=args.data, teams=args.teams,
                                   force=args.force, allow_pickle=args.allow_pickle, progress=show,
                                   measure=args.measure, executor=executor, **_limits(args))
    except ManifestError as exc:
        raise UserError(str(exc)) from None
    finally:
        if executor is not None:
            executor.close()
    if args.json:
        print(json.dumps([{"team": o.team, "action": o.action, "reason": o.reason, "status": o.status,
                           "path": str(o.path)} for o in outcomes], indent=2))
    else:
        counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "below-threshold", "broken")}
        print(f"{len(outcomes)} team(s): " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return 0 if all(o.status == "ok" for o in outcomes) else 1


def _rank(args: argparse.Namespace) -> int:
    from bench.records import atomic_write_text
    from challenge.rank import format_ranking, format_results_txt, load_results, rank_teams, ranking_to_json
    from challenge.rules import get_rules

    try:
        rules = get_rules(args.year)
        metrics = load_results(args.results)
    except (ValueError, FileNotFoundError) as exc:
        raise UserError(str(exc)) from None
    ranking = rank_teams(rules, metrics)
    if args.txt:
        atomic_write_text(args.txt, format_results_txt(metrics))
        print(f"wrote {args.txt}", file=sys.stderr)
    if args.json:
        print(json.dumps(ranking_to_json(ranking), indent=2))
    else:
        print(format_ranking(ranking), end="")
    return 0


def _import(args: argparse.Namespace) -> int:
    from bench.records import atomic_write_text
    from challenge.importer import ImportError_, import_test_demo, to_toml
    from challenge.manifest import ManifestError, load_manifest

    try:
        teams, year = import_test_demo(args.repo)
    except (ImportError_, OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot import {args.repo}: {exc}") from None
    year = args.year or year
    src = Path(args.repo) / "test_demo.py" if Path(args.repo).is_dir() else Path(args.repo)
    out = Path(args.output) if args.output else src.parent / "submission.toml"
    if out.exists() and not args.force:
        raise UserError(f"{out} exists; pass --force to overwrite it")
    atomic_write_text(out, to_toml(teams, year, src.name))
    todos = sum(len(t.todos) for t in teams)
    try:
        n = len(load_manifest(out).teams)
    except ManifestError as exc:
        print(f"wrote {out}, but it does not load yet: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out}: {n} team(s) from {len(teams)} branch(es) of {src.name}, year {year or '?'}; "
          f"{todos} TODO(s) to check", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("challenge", help="validate / run / rank NTIRE ESR submissions", description=__doc__)
    csub = p.add_subparsers(dest="challenge_command", metavar="ACTION", required=True)

    v = csub.add_parser("validate", help="static + sandboxed dynamic checks of a submission")
    _common(v)
    v.add_argument("--jobs", type=int, default=1, help="children at once (ignored with --data)")
    v.add_argument("--measure", choices=("official", "full"), default="full",
                   help="official: only what the year's harness measures; full (default): also the other FLOPs "
                        "counter, a robust-mode runtime and the data_range check on every image")
    v.set_defaults(func=_validate)

    r = csub.add_parser("run", help="validate/evaluate every team, one JSON record each (resumable)")
    _common(r)
    r.add_argument("--out", required=True, help="output root; records go to <out>/challenge/<team>.json")
    r.add_argument("--force", action="store_true",
                   help="recompute every team (without it, records of the same identity are reused)")
    r.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="run teams one after another here (default) or as Ray tasks (pip install 'esr-bench[ray]')")
    r.add_argument("--address", default=None,
                   help="with --executor ray: join this cluster ('auto' or host:port; default: a local one)")
    r.add_argument("--measure", choices=("official", "full"), default="official",
                   help="official (default): only what the year's harness measures; full: also the other FLOPs "
                        "counter, a robust-mode runtime and the data_range check on every image")
    r.set_defaults(func=_run)

    i = csub.add_parser("import", help="translate an official test_demo.py into a submission.toml (static, "
                                       "never executed)")
    i.add_argument("repo", help="the challenge repository root (holding test_demo.py) or the test_demo.py file")
    i.add_argument("--year", type=int, default=None, help="challenge year (default: the NTIRE year the file names)")
    i.add_argument("-o", "--output", default=None, help="manifest to write (default: REPO/submission.toml)")
    i.add_argument("--force", action="store_true", help="overwrite an existing manifest")
    i.set_defaults(func=_import)

    k = csub.add_parser("rank", help="scores, thresholds and rankings under a year's rules")
    k.add_argument("results", help="a run's output folder (or its challenge/ folder), or an official results.json")
    k.add_argument("--year", type=int, required=True, help="rules year (2022-2026)")
    k.add_argument("--txt", type=Path, default=None, help="also write an official-style results.txt here")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=_rank)
