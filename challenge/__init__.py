"""NTIRE Efficient-SR challenge tooling: rules, manifests, safe validation and runs, scores and ranks.

Modules: :mod:`challenge.rules` (per-year rules as data), :mod:`challenge.manifest` (submission
manifests), :mod:`challenge.validate` (static + dynamic checks -> findings), :mod:`challenge.sandbox`
(child process with timeout and memory limit), :mod:`challenge.worker` (what runs inside the child),
:mod:`challenge.runner` (many teams, resumable), :mod:`challenge.score` / :mod:`challenge.rank`.
"""
