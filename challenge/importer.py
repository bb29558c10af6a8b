"""``esr-bench challenge import``: an official ``test_demo.py`` translated into a ``submission.toml``.

The official NTIRE ESR harness hard-codes one ``elif model_id == N:`` branch per team in
``select_model``. This module reads that file with :mod:`ast` (it is never imported or executed) and
writes one manifest entry per branch: model file, class, positional and keyword arguments, checkpoint
path, state-dict key, strict, data_range, tile, post-load steps and a pad-and-crop forward when a
``forward_teamNN`` helper pads the input. Every statement it cannot translate becomes a commented
``TODO`` naming its source line; nothing is guessed. Statements that do not change a figure
(``model.eval()``, ``.to(device)``, ``.cuda()``, ``requires_grad`` loops) are dropped with a note.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ImportedTeam", "import_test_demo", "to_toml", "ImportError_"]

_HARMLESS_CALLS = {"eval", "cuda", "to", "cpu", "float", "requires_grad_"}


class ImportError_(ValueError):  # noqa: N801 - not the builtin ImportError
    """The file is not an official ``test_demo.py`` (no ``select_model`` with ``model_id`` branches)."""


@dataclass
class ImportedTeam:
    """One ``select_model`` branch as manifest keys, plus TODO lines for what was not translated."""

    model_id: int
    line: int
    keys: dict[str, Any] = field(default_factory=dict)
    todos: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Branch:
    """Interprets the statements of one branch (a tiny abstract interpreter over literal values)."""

    def __init__(self, model_id: int, src: str, fname: str) -> None:
        self.model_id, self.src, self.fname = model_id, src, fname
        self.vars: dict[str, Any] = {"model_id": model_id}
        self.imports: dict[str, str] = {}  # class or module alias -> dotted module
        self.state_vars: dict[str, str | None] = {}  # variable holding torch.load(...) -> key
        self.team = ImportedTeam(model_id, 0)
        self.post_load: list[dict[str, str]] = []

    # -- values -------------------------------------------------------------------------------
    def value(self, node: ast.AST) -> Any:
        """Literal value of ``node`` (constants, f-strings over ``model_id``, os.path.join); raises ValueError."""
        if isinstance(node, ast.Name) and node.id in self.vars:
            return self.vars[node.id]
        if isinstance(node, ast.JoinedStr):
            out = []
            for part in node.values:
                if isinstance(part, ast.Constant):
                    out.append(str(part.value))
                elif isinstance(part, ast.FormattedValue):
                    spec = self.value(part.format_spec) if part.format_spec else ""
                    out.append(format(self.value(part.value), spec))
            return "".join(out)
        if isinstance(node, ast.Call) and _dotted(node.func) in ("os.path.join", "osp.join", "join"):
            return "/".join(str(self.value(a)) for a in node.args)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):  # pathlib: Path('a') / 'b'
            return f"{self.value(node.left)}/{self.value(node.right)}"
        if isinstance(node, ast.Call) and _dotted(node.func) in ("Path", "pathlib.Path") and len(node.args) == 1:
            return self.value(node.args[0])
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ValueError(ast.get_source_segment(self.src, node) or ast.dump(node)) from None

    def todo(self, node: ast.AST, why: str = "not translated") -> None:
        seg = (ast.get_source_segment(self.src, node) or "").strip().replace("\n", " ")
        seg = re.sub(r"\s+", " ", seg)[:160]
        self.team.todos.append(f"TODO {self.fname}:{node.lineno}: {why}: {seg}")

    # -- statements ---------------------------------------------------------------------------
    def run(self, body: list[ast.stmt]) -> None:
        for st in body:
            try:
                self.stmt(st)
            except ValueError as exc:
                self.todo(st, f"cannot evaluate {exc}")

    def stmt(self, st: ast.stmt) -> None:
        k = self.team.keys
        if isinstance(st, ast.Pass):
            self.team.todos.append(f"TODO {self.fname}:{st.lineno}: the branch is empty (pass): no model")
        elif isinstance(st, ast.ImportFrom) and st.module:
            for a in st.names:
                self.imports[a.asname or a.name] = st.module
        elif isinstance(st, ast.Import):
            for a in st.names:
                self.imports[a.asname or a.name] = a.name
        elif isinstance(st, ast.Assign) and len(st.targets) == 1:
            self.assign(st.targets[0], st.value, st)
        elif isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
            self.call(st.value, st)
        elif isinstance(st, ast.For) and (self.for_each(st) or self.strip_loop(st)):
            pass
        else:
            self.todo(st)
        if "data_range" in self.vars:
            k["data_range"] = float(self.vars["data_range"])

    def assign(self, target: ast.expr, value: ast.expr, st: ast.stmt) -> None:
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            for t, v in zip(target.elts, value.elts):
                self.assign(t, v, st)
            return
        if not isinstance(target, ast.Name):
            self.todo(st)
            return
        name = target.id
        if (name == "model" and isinstance(value, ast.Call) and _dotted(value.func).startswith("model.")
                and value.func.attr in _HARMLESS_CALLS):
            self.team.notes.append(f"{self.fname}:{st.lineno}: model = model.{value.func.attr}(...) dropped (the "
                                   "harness sets eval mode and the device)")
            return
        call, chain = _strip_chain(value)
        if name == "model" and isinstance(call, ast.Call):
            self.construct(call, st, chain)
            return
        if isinstance(call, ast.Call) and _dotted(call.func) == "importlib.import_module":
            self.vars[name] = ("module", self.value(call.args[0]))
            return
        empty_dict = ("dict", "OrderedDict", "collections.OrderedDict")
        if (isinstance(value, ast.Dict) and not value.keys) or (
                isinstance(value, ast.Call) and _dotted(value.func) in empty_dict
                and not value.args and not value.keywords):
            self.vars[name] = ("empty-dict",)
            return
        load = _torch_load(value)
        if load is not None:
            self.state_vars[name] = load[1]
            self.team.keys["checkpoint"] = self.path_of(load[0])
            return
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and value.value.id in self.state_vars:
            self.state_vars[name] = self.value(value.slice)
            return
        if name in ("name", "data_range", "model_path", "tile", "tile_overlap") or name.endswith("_path"):
            self.vars[name] = self.value(value)
            if name == "name":
                self.team.keys["name"] = _team_name(str(self.vars[name]), self.model_id)
            elif name == "model_path":
                self.team.keys["checkpoint"] = _rel(self.vars[name])
            elif name in ("tile", "tile_overlap") and self.vars[name] is not None:
                self.team.keys[name] = int(self.vars[name])
            return
        self.todo(st)

    def path_of(self, node: ast.expr) -> str:
        return _rel(self.value(node))

    def construct(self, call: ast.Call, st: ast.stmt, chain: list[str]) -> None:
        k = self.team.keys
        func = call.func
        module = cls = None
        if isinstance(func, ast.Name):
            cls, module = func.id, self.imports.get(func.id)
        elif isinstance(func, ast.Call) and _dotted(func.func) == "getattr" and len(func.args) == 2:
            mod = self.vars.get(getattr(func.args[0], "id", ""))
            cls = self.value(func.args[1])
            module = mod[1] if isinstance(mod, tuple) else None
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module, cls = self.imports.get(func.value.id), func.attr
        if not cls or not module:
            self.todo(st, "model class or its module not found")
            return
        if any(kw.arg is None for kw in call.keywords):
            self.todo(st, "**kwargs expansion")
            return
        args = [self.value(a) for a in call.args]  # ValueError -> TODO, and no class: the entry stays commented
        kwargs = {kw.arg: self.value(kw.value) for kw in call.keywords if kw.arg}
        k["class"] = cls
        k["model"] = module.replace(".", "/") + ".py"
        if args:
            k["args"] = args
        if kwargs:
            k["kwargs"] = kwargs
        for c in chain:
            self.team.notes.append(f"{self.fname}:{st.lineno}: .{c}() after construction dropped (the harness "
                                   "sets eval mode and the device)")

    def call(self, call: ast.Call, st: ast.stmt) -> None:
        f = call.func
        if not (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "model"):
            self.todo(st)
            return
        k = self.team.keys
        if f.attr == "load_state_dict":
            if not call.args:
                self.todo(st)
                return
            src = call.args[0]
            load = _torch_load(src)
            if load is not None:
                k["checkpoint"] = self.path_of(load[0])
                key = load[1]
            elif isinstance(src, ast.Name) and src.id in self.state_vars:
                key = self.state_vars[src.id]
            elif (isinstance(src, ast.Subscript) and isinstance(src.value, ast.Name)
                  and src.value.id in self.state_vars):
                key = self.value(src.slice)
            else:
                self.todo(st, "state dict source not understood")
                return
            if key is not None:
                k["key"] = str(key)
            strict = next((kw.value for kw in call.keywords if kw.arg == "strict"), None)
            if strict is None and len(call.args) > 1:
                strict = call.args[1]
            k["strict"] = True if strict is None else bool(self.value(strict))
        elif f.attr in _HARMLESS_CALLS:
            self.team.notes.append(f"{self.fname}:{st.lineno}: model.{f.attr}() dropped (the harness sets eval "
                                   "mode and the device)")
        elif len(call.args) == 1 and not call.keywords and _is_path(call.args[0], self):
            k["checkpoint"] = self.path_of(call.args[0])
            self.post_load.append({"load": f.attr})
        elif not call.args and not call.keywords:
            self.post_load.append({"call": f.attr})
        else:
            self.todo(st, "method call with arguments")

    def strip_loop(self, st: ast.For) -> bool:
        """``for k, v in sd.items(): new[k.replace("module.", "")] = v`` -> ``strip_prefix = "module."``.

        (``str.replace`` removes the text anywhere in a key, ``strip_prefix`` only at its start: the same
        for DataParallel keys, which is what this loop is written for.)
        """
        t, it = st.target, st.iter
        if not (isinstance(t, ast.Tuple) and len(t.elts) == 2 and all(isinstance(e, ast.Name) for e in t.elts)
                and isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr == "items"
                and isinstance(it.func.value, ast.Name) and it.func.value.id in self.state_vars
                and len(st.body) == 1 and isinstance(st.body[0], ast.Assign) and len(st.body[0].targets) == 1):
            return False
        k, v = (e.id for e in t.elts)
        tgt, val = st.body[0].targets[0], st.body[0].value
        if not (isinstance(tgt, ast.Subscript) and isinstance(tgt.value, ast.Name)
                and self.vars.get(tgt.value.id) == ("empty-dict",) and isinstance(val, ast.Name) and val.id == v):
            return False
        key = tgt.slice
        if not (isinstance(key, ast.Call) and _dotted(key.func) == f"{k}.replace" and len(key.args) == 2
                and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in key.args)
                and key.args[1].value == "" and key.args[0].value):
            return False
        self.state_vars[tgt.value.id] = self.state_vars[it.func.value.id]
        self.team.keys["strip_prefix"] = key.args[0].value
        return True

    def for_each(self, st: ast.For) -> bool:
        """``for m in model.modules(): if hasattr(m, 'x'): m.x()`` -> ``{ call_each = "x" }``."""
        it, var = st.iter, st.target
        if not (isinstance(it, ast.Call) and _dotted(it.func) == "model.modules" and isinstance(var, ast.Name)
                and len(st.body) == 1 and isinstance(st.body[0], ast.If) and not st.body[0].orelse):
            return False
        cond, body = st.body[0].test, st.body[0].body
        if not (isinstance(cond, ast.Call) and _dotted(cond.func) == "hasattr" and len(cond.args) == 2
                and len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Call)):
            return False
        method = self.value(cond.args[1])
        if _dotted(body[0].value.func) != f"{var.id}.{method}" or body[0].value.args:
            return False
        self.post_load.append({"call_each": str(method)})
        return True


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _strip_chain(node: ast.expr) -> tuple[ast.expr, list[str]]:
    """``X(...).eval().to(device)`` -> (``X(...)``, ["to", "eval"])."""
    chain = []
    while (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _HARMLESS_CALLS
           and isinstance(node.func.value, ast.Call)):
        chain.append(node.func.attr)
        node = node.func.value
    return node, chain


def _torch_load(node: ast.expr) -> tuple[ast.expr, str | None] | None:
    """``torch.load(p, ...)`` -> (p, None); ``torch.load(p)['k']`` -> (p, 'k')."""
    key = None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        key, node = node.slice.value, node.value
    if isinstance(node, ast.Call) and _dotted(node.func) == "torch.load" and node.args:
        return node.args[0], key
    return None


def _is_path(node: ast.expr, b: _Branch) -> bool:
    try:
        v = b.value(node)
    except ValueError:
        return False
    return isinstance(v, str) and v.endswith((".pth", ".pt", ".ckpt", ".pkl", ".safetensors"))


def _rel(p: Any) -> str:
    return str(p)[2:] if str(p).startswith("./") else str(p)


def _team_name(name: str, model_id: int) -> str:
    """``"07_NanoSR"`` -> ``"NanoSR"`` (the official result name minus its id prefix)."""
    m = re.match(r"^0*(\d+)_(.+)$", name)
    return m.group(2) if m and int(m.group(1)) == model_id else name


def _branches(fn: ast.FunctionDef) -> list[tuple[int, ast.If]]:
    out = []
    for st in fn.body:
        node = st
        while isinstance(node, ast.If):
            t = node.test
            if (isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq)
                    and _dotted(t.left) in ("model_id", "args.model_id")
                    and isinstance(t.comparators[0], ast.Constant) and isinstance(t.comparators[0].value, int)):
                out.append((t.comparators[0].value, node))
            node = node.orelse[0] if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If) else None
    return out


def _forward_variants(tree: ast.Module) -> dict[int, dict[str, Any]]:
    """``def forward_teamNN(...)`` helpers that pad to a window multiple -> team NN's forward keys."""
    out = {}
    for fn in tree.body:
        m = re.fullmatch(r"forward_team(\d+)", getattr(fn, "name", ""))
        if not (m and isinstance(fn, ast.FunctionDef)):
            continue
        window, mode, pads = None, None, False
        for node in ast.walk(fn):
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id in ("window_size", "window", "multiple")
                    and isinstance(node.value, ast.Constant)):
                window = node.value.value
            if isinstance(node, ast.Call) and _dotted(node.func) in ("F.pad", "torch.nn.functional.pad"):
                pads = True
                arg = node.args[2] if len(node.args) > 2 else next(
                    (kw.value for kw in node.keywords if kw.arg == "mode"), None)
                mode = arg.value if isinstance(arg, ast.Constant) else mode
        if pads and isinstance(window, int):
            out[int(m.group(1))] = {"forward": "pad-crop", "pad_multiple": window, "pad_mode": mode or "constant",
                                    "_line": fn.lineno, "_name": fn.name}
    return out


def import_test_demo(path: str | Path) -> tuple[list[ImportedTeam], int | None]:
    """Teams of an official ``test_demo.py`` (or a repository root holding one) and the year it names.

    Raises :class:`ImportError_` when the file has no ``select_model`` with ``model_id`` branches,
    ``OSError`` when it cannot be read, ``SyntaxError`` when it does not parse.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "test_demo.py"
    src = p.read_text(encoding="utf-8")
    tree = ast.parse(src, filename=str(p))
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "select_model"), None)
    if fn is None:
        raise ImportError_(f"{p}: no select_model() function: not an official NTIRE ESR test_demo.py")
    branches = _branches(fn)
    if not branches:
        raise ImportError_(f"{p}: select_model() has no `if model_id == N:` branches")
    # the harness names its own year ("NTIRE2025-EfficientSR"); comments also cite earlier challenges
    years = [int(y) for y in re.findall(r"NTIRE\s*(20\d\d)[-_ ]*Efficient", src)] or [
        int(y) for y in re.findall(r"NTIRE\s*(20\d\d)", src)]
    forwards = _forward_variants(tree)
    teams = []
    for model_id, node in branches:
        b = _Branch(model_id, src, p.name)
        b.team.line = node.lineno
        b.run(node.body)
        t = b.team
        t.keys.setdefault("id", f"{model_id:02d}")
        t.keys = {"id": t.keys.pop("id"), **t.keys}
        if b.post_load:
            t.keys["post_load"] = b.post_load
        if model_id in forwards:
            fw = dict(forwards[model_id])
            t.notes.append(f"{p.name}:{fw.pop('_line')}: forward from {fw.pop('_name')}()")
            t.keys.update(fw)
        if "name" not in t.keys and "class" in t.keys:
            t.keys["name"] = t.keys["class"]
        teams.append(t)
    return teams, max(years) if years else None


def _toml_value(v: Any) -> str:
    if v is None:
        return "{ null = true }"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML form for {type(v).__name__}")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def to_toml(teams: list[ImportedTeam], year: int | None, source: str) -> str:
    """The manifest text: one ``[[team]]`` per branch, TODOs as comments naming their source lines.

    A branch without a model class (an empty ``pass`` branch, or one whose construction was not
    understood) is written entirely commented out, so the manifest still loads.
    """
    out = [f"# imported from {source} by `esr-bench challenge import`; check every TODO before running"]
    if year:
        out.append(f"year = {year}")
    for t in teams:
        out.append("")
        complete = {"id", "name", "class"} <= set(t.keys)
        prefix = "" if complete else "# "
        out.append(f"# select_model branch `model_id == {t.model_id}` ({source}:{t.line})")
        out.extend(f"# {line}" for line in t.todos)
        out.extend(f"# note: {line}" for line in t.notes)
        if not complete:
            out.append("# TODO: no model class found: the entry below is commented out")
        out.append(f"{prefix}[[team]]")
        for k, v in t.keys.items():
            out.append(f"{prefix}{_toml_key(k)} = {_toml_value(v)}")
    return "\n".join(out) + "\n"
