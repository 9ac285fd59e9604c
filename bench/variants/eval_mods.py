"""Evaluates variant files' mods point by point on small grids, on the CPU, with any torch (1.13 too).

    echo '{"variants": {"natten": {"shape": {"B": 1, "H": 1, "S": 42, "D": 16}, "params": {"canvas_w": 7}}}}' \\
        | python3 bench/variants/eval_mods.py

Reads a plan on stdin: per variant a small shape, parameter overrides, extra points [b, h, q, kv] and other
shapes to build it at with its defaults ("builds"; checked at the score matrix's corners). Writes
JSON on stdout: per file of this folder its docstring, imports, KFORGE and factory defaults; per variant the captured tensors (as
lists) and, at every (b, h, q, kv) of the grid and each extra point, the score_mod's value for the input
score 0.25 * ((7 q + 3 kv) % 11) - 1 and the mask_mod's value, with whether each is boolean and finite.
Each mod is called with one 0-d index tensor per argument (FlexAttention's one-scalar-per-lane view). Where
torch has no torch.nn.attention.flex_attention, a minimal and_masks / or_masks stands in for it.
"""
import ast
import json
import os
import sys
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def install_stand_in():
    """and_masks / or_masks under torch.nn.attention.flex_attention when torch lacks them; True if installed."""
    try:
        import torch.nn.attention.flex_attention  # noqa: F401
        return False
    except ImportError:
        pass

    def combine(op):
        def combined(*mods):
            def mod(b, h, q_idx, kv_idx):
                out = mods[0](b, h, q_idx, kv_idx)
                for m in mods[1:]:
                    out = op(out, m(b, h, q_idx, kv_idx))
                return out
            return mod
        return combined

    attention = types.ModuleType("torch.nn.attention")
    flex = types.ModuleType("torch.nn.attention.flex_attention")
    flex.and_masks, flex.or_masks = combine(lambda x, y: x & y), combine(lambda x, y: x | y)
    attention.flex_attention = flex
    sys.modules["torch.nn.attention"], sys.modules["torch.nn.attention.flex_attention"] = attention, flex
    return True


def source_facts(path):
    """Read from the source alone (a syntax error raises): the module docstring, the imported modules, the
    KFORGE literal and the literal defaults of each generate_* factory's parameters."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    imports, kforge, factories = set(), None, {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imports.add(node.module)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "KFORGE" for t in node.targets):
            kforge = ast.literal_eval(node.value)
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("generate_"):
            args = node.args.args
            defaults = dict(zip([a.arg for a in args[len(args) - len(node.args.defaults):]], node.args.defaults))
            factories[node.name] = {"params": [a.arg for a in args],
                                    "defaults": {k: ast.literal_eval(v) for k, v in defaults.items()}}
    return {"docstring": ast.get_docstring(tree), "imports": sorted(imports), "kforge": kforge, "factories": factories}


def score_in(q, kv):
    return 0.25 * ((7 * q + 3 * kv) % 11) - 1.0


def value(x):
    x = torch.as_tensor(x)
    if x.numel() != 1:
        raise ValueError(f"a mod returned {x.numel()} values for one point")
    is_bool = x.dtype == torch.bool
    return {"bool": is_bool, "v": bool(x.item()) if is_bool else x.item(), "finite": bool(torch.isfinite(x.float()).all())}


def evaluate(flex_check, stem, cfg):
    """Builds one variant (flex_check's loader) and evaluates its mods over the grid and the extra points."""
    module = flex_check.load_variant(os.path.join(HERE, stem + ".py"))
    spec = flex_check.spec_of(module)
    shape = cfg["shape"]
    score_mod, mask_mod, tensors = flex_check.build(module, stem, shape, "cpu", {**spec["params"], **cfg.get("params", {})})
    idx = lambda n: torch.tensor(n, dtype=torch.int64)  # noqa: E731
    grid = [[b, h, q, kv] for b in range(shape["B"]) for h in range(shape["H"])
            for q in range(shape["S"]) for kv in range(shape.get("Skv", shape["S"]))]
    points = []
    for b, h, q, kv in grid + cfg.get("points", []):
        row = {"at": [b, h, q, kv]}
        if score_mod is not None:
            row["score"] = value(score_mod(torch.tensor(score_in(q, kv)), idx(b), idx(h), idx(q), idx(kv)))
        if mask_mod is not None:
            row["mask"] = value(mask_mod(idx(b), idx(h), idx(q), idx(kv)))
        points.append(row)
    return {"tensors": {n: t.tolist() for n, t in tensors.items()},
            "tensor_dtypes": {n: str(t.dtype).replace("torch.", "") for n, t in tensors.items()}, "points": points,
            "builds": [build_at(flex_check, module, stem, spec, shape) for shape in cfg.get("builds", [])]}


def build_at(flex_check, module, stem, spec, shape):
    """The variant built with its own defaults at another shape (as kforge builds it at the correctness shapes
    it derives), its mods evaluated at the corners of the score matrix: "ok" or the error."""
    try:
        score_mod, mask_mod, _ = flex_check.build(module, stem, shape, "cpu", spec["params"])
        last_q, last_kv = shape["S"] - 1, shape.get("Skv", shape["S"]) - 1
        idx = lambda n: torch.tensor(n, dtype=torch.int64)  # noqa: E731
        for b, h, q, kv in [(0, 0, 0, 0), (shape["B"] - 1, shape["H"] - 1, last_q, last_kv), (0, 0, last_q, 0), (0, 0, 0, last_kv)]:
            args = (idx(b), idx(h), idx(q), idx(kv))
            if score_mod is not None and not value(score_mod(torch.tensor(0.5), *args))["finite"]:
                return {"shape": shape, "error": f"score not finite at {(b, h, q, kv)}"}
            if mask_mod is not None and not value(mask_mod(*args))["bool"]:
                return {"shape": shape, "error": f"mask not boolean at {(b, h, q, kv)}"}
        return {"shape": shape, "ok": True}
    except Exception as exc:  # noqa: BLE001
        return {"shape": shape, "error": f"{type(exc).__name__}: {exc}"}


def main():
    plan = json.load(sys.stdin)
    stand_in = install_stand_in()
    sys.path.insert(0, HERE)
    import flex_check  # noqa: E402 - after the stand-in

    out = {"stand_in": stand_in, "files": {}, "variants": {}}
    for name in sorted(os.listdir(HERE)):
        if name.endswith(".py"):
            out["files"][name] = source_facts(os.path.join(HERE, name))
    for stem, cfg in plan["variants"].items():
        try:
            out["variants"][stem] = evaluate(flex_check, stem, cfg)
        except Exception as exc:  # noqa: BLE001 - reported per variant, with its message
            out["variants"][stem] = {"error": f"{type(exc).__name__}: {exc}"}
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
