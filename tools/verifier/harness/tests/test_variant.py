"""User variant files: found, built by factories, traced with make_fx, lowered to the kernel IR (checked by
evaluating the IR against the mod itself), captured tensors named, and every user error naming file and line."""
import importlib.util
import os
import shutil
import sys
import tempfile
import textwrap
import unittest

from tests import _paths  # noqa: F401
import torch

from kforge_harness import correctness, lower_fx, trace_mods
from kforge_harness import variant as V
from kforge_harness import variant_build as VB
from kforge_harness.inspect_variant import inspect_folder as _inspect
from kforge_harness.reference import ProblemFault, golden_pair, load_reference, problem_fault
from kforge_harness.candidate import validate_output
from kforge_harness.protocol import Verdict

_ir_spec = importlib.util.spec_from_file_location("kforge_ir", os.path.join(_paths.REPO, "tools", "offline", "ir.py"))
IR = importlib.util.module_from_spec(_ir_spec)
sys.modules["kforge_ir"] = IR  # dataclasses look their module up while the module runs
_ir_spec.loader.exec_module(IR)

SHAPES = [{"B": 1, "H": 2, "Hkv": 2, "S": 9, "Skv": 9, "D": 16}, {"B": 2, "H": 3, "Hkv": 3, "S": 17, "Skv": 17, "D": 16},
          {"B": 1, "H": 4, "Hkv": 2, "S": 6, "Skv": 11, "D": 16}]

GRAPH = '''
import torch
from torch.nn.attention.flex_attention import and_masks, or_masks

def generate_graph_bias(B, H, S, S_kv, device, generator):
    """Graphormer-style: a per-head table indexed by a [B, S, S_kv] distance matrix, global tokens, a window."""
    dist = torch.randint(0, 8, (B, S, S_kv), generator=generator).to(device)
    table = torch.randn(H, 8, generator=generator).to(device)
    head_scale = torch.rand(H, generator=generator).to(device) + 0.5
    is_global = (torch.rand(S_kv, generator=generator) < 0.3).to(device)

    def score_mod(score, b, h, q_idx, kv_idx):
        s = score * head_scale[h] + table[h, dist[b, q_idx, kv_idx]]
        for i in range(3):
            s = s + 0.01 * i * torch.sigmoid(s)
        return torch.clamp(s, -4.0, 4.0) + 0.1 * torch.sqrt((q_idx - kv_idx).abs().to(torch.float32)) + torch.exp2(torch.floor(s) * 0.1)

    def causal(b, h, q_idx, kv_idx):
        return q_idx >= kv_idx

    def near(b, h, q_idx, kv_idx):
        return (q_idx - kv_idx).abs() <= 2

    return score_mod, and_masks(causal, or_masks(near, lambda b, h, q_idx, kv_idx: is_global[kv_idx]))
'''


def eval_ir(node, env, tensors):
    """A direct interpreter of the IR JSON, to check that lowering kept the mod's meaning."""
    if "num" in node:
        v = node["num"]
        return float(v) if isinstance(v, str) else v
    if "var" in node:
        return env[node["var"]]
    if "param" in node:
        return env[node["param"]]
    if "load" in node:
        idx = tuple(int(eval_ir(i, env, tensors)) for i in node["index"])
        return tensors[node["load"]][idx].item()
    if "bin" in node:
        a, b = eval_ir(node["a"], env, tensors), eval_ir(node["b"], env, tensors)
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if node["bin"] == "/" else None, "//": a // b if node["bin"] == "//" else None,
                "%": a % b if node["bin"] == "%" else None, "&": bool(a) and bool(b), "|": bool(a) or bool(b), "^": bool(a) != bool(b)}[node["bin"]]
    if "cmp" in node:
        a, b = eval_ir(node["a"], env, tensors), eval_ir(node["b"], env, tensors)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[node["cmp"]]
    if "neg" in node:
        return -eval_ir(node["neg"], env, tensors)
    if "not" in node:
        return not eval_ir(node["not"], env, tensors)
    if "where" in node:
        c, a, b = (eval_ir(x, env, tensors) for x in node["where"])
        return a if c else b
    args = [eval_ir(a, env, tensors) for a in node["args"]]
    t = torch.tensor(float(args[0]), dtype=torch.float64)
    fn = node["call"]
    if fn == "clamp":
        return min(max(args[0], args[1]), args[2])
    if fn in ("minimum", "maximum"):
        return (min if fn == "minimum" else max)(args)
    if fn == "to_float":
        return float(args[0])
    if fn == "pow":
        return args[0] ** args[1]
    return getattr(torch, fn)(t).item()


class VariantFiles(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kforge-variant-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))
        return path

    def problem(self, file, score=True, mask=True, symbol=None):
        src = {"file": file, "symbol": symbol}
        return {"name": "t", "shapes": {"correctness": SHAPES, "benchmark": []},
                "variant": {"files": [file], "score": src if score else None, "mask": src if mask else None}}

    def test_factory_captures_named_tensors_and_lowers_to_ir_that_means_the_same(self):
        self.write("graph.py", GRAPH)
        out = _inspect(self.problem("graph.py"), self.dir)
        self.assertEqual(out["errors"], [])
        v = out["variant"]
        self.assertEqual(v["score"], {"file": "graph.py", "symbol": "generate_graph_bias", "factory": True})
        got = {c["name"]: (c["dtype"], c["dims"]) for c in v["captured"]}
        self.assertEqual(got, {"dist": ("int64", ["B", "S_q", "Skv"]), "table": ("float32", ["H", 8]),
                               "head_scale": ("float32", ["H"]), "is_global": ("bool", ["Skv"])})
        mods = IR.mods_from_json(out["ir"])  # the IR engineer's checker accepts it
        self.assertIn(IR.Load("table", (IR.Var("h"), IR.Load("dist", (IR.Var("b"), IR.Var("q_idx"), IR.Var("kv_idx"))))),
                      list(IR.walk(mods.score)))
        self.assertIn("causal_compare", out["features"])
        # the lowered IR evaluates to the mod's own values at every index of a shape
        shape = SHAPES[2]
        built = VB.build({**self.problem("graph.py"), "variant": {**v}}, self.dir, shape, "cpu", 5)
        for b in range(shape["B"]):
            for h in range(shape["H"]):
                for qi in range(shape["S"]):
                    for kv in range(shape["Skv"]):
                        env = {"score": 0.37 * (qi - kv), "b": b, "h": h, "q_idx": qi, "kv_idx": kv}
                        args = [torch.tensor(x) for x in (b, h, qi, kv)]
                        with VB.tensor_indexing():
                            want_s = float(built.score(torch.tensor(env["score"], dtype=torch.float64), *args))
                            want_m = bool(built.mask(*args))
                        self.assertAlmostEqual(eval_ir(out["ir"]["score"], env, built.tensors), want_s, places=5)
                        self.assertEqual(bool(eval_ir(out["ir"]["mask"], env, built.tensors)), want_m)

    def test_captured_tensors_reach_reference_and_candidate_identically(self):
        self.write("graph.py", GRAPH)
        v = _inspect(self.problem("graph.py"), self.dir)["variant"]
        prob = {**self.problem("graph.py"), "variant": v}
        shape = {**SHAPES[1], "dtype": "bf16"}
        p1 = VB.VariantParams(VB.build(prob, self.dir, shape, "cpu", 3))
        p2 = VB.VariantParams(VB.build(prob, self.dir, shape, "cpu", 3))
        p3 = VB.VariantParams(VB.build(prob, self.dir, shape, "cpu", 4))
        self.assertEqual(sorted(p1), ["dist", "head_scale", "is_global", "table"])
        self.assertTrue(all(torch.equal(p1[n], p2[n]) for n in p1))  # re-created from the seed
        self.assertFalse(torch.equal(p1["dist"], p3["dist"]))  # a new seed, new tensors
        ref = load_reference(self.write("reference.py", '''
            def reference(q, k, v, *, scale, score_mod=None, mask_mod=None, **captured):
                from kforge_harness.variant_build import Built, evaluate
                return evaluate(q, k, v, scale, Built(score_mod, mask_mod, captured))
        '''))
        q, k, v_ = correctness.make_inputs(shape, "cpu", 1)
        golden, lowprec = golden_pair(ref, q, k, v_, 0.25, p1)
        self.assertEqual(golden.dtype, torch.float64)
        # brute force: the mods called once per element, as FlexAttention does
        qd, kd, vd = q.double(), k.double(), v_.double()
        b, h, i = 1, 2, 11
        row = []
        for j in range(shape["S"]):
            args = [torch.tensor(x) for x in (b, h, i, j)]
            with VB.tensor_indexing():
                s = p1.built.score((qd[b, h, i] @ kd[b, h, j]) * 0.25, *args)
                row.append(float(s) if bool(p1.built.mask(*args)) else float("-inf"))
        p = torch.softmax(torch.tensor(row, dtype=torch.float64), 0)
        self.assertLess(float((p @ vd[b, h] - golden[b, h, i]).abs().max()), 1e-10)
        self.assertLess(float((lowprec - golden).abs().max()), 0.1)

    def test_module_level_mods_tensor_methods_and_mask_only_file_for_both(self):
        self.write("window.py", '''
            import torch
            WINDOW = 3
            bias = torch.arange(5.0)

            def mask_mod(b, h, q_idx, kv_idx):
                return ((q_idx - kv_idx).abs() <= WINDOW) & (bias[h] >= 0)
        ''')
        out = _inspect(self.problem("window.py"), self.dir)
        self.assertEqual(out["errors"], [])
        self.assertIsNone(out["variant"]["score"])  # the file has no score_mod: fine when it is given as both
        self.assertEqual(out["variant"]["mask"], {"file": "window.py", "symbol": "mask_mod", "factory": False})
        self.assertEqual(out["variant"]["captured"], [{"name": "bias", "dtype": "float32", "dims": [5]}])
        self.assertEqual(out["ir"]["mask"], {"bin": "&", "a": {"cmp": "<=", "a": {"call": "abs", "args": [
            {"bin": "-", "a": {"var": "q_idx"}, "b": {"var": "kv_idx"}}]}, "b": {"num": 3}},
            "b": {"cmp": ">=", "a": {"load": "bias", "index": [{"var": "h"}]}, "b": {"num": 0}}})
        only_score = _inspect(self.problem("window.py", mask=False), self.dir)
        self.assertIn("no score_mod found (it has a mask_mod: pass it with --mask-mod)", only_score["errors"][0]["message"])

    def test_captured_tensors_made_on_another_device_are_moved_where_the_mods_read_them(self):
        self.write("cpu_made.py", '''
            import torch
            bias = torch.arange(5.0)

            def generate_scaled(H):
                scale_h = torch.ones(H)  # ignores the device kforge offers

                def score_mod(score, b, h, q_idx, kv_idx):
                    return score * scale_h[h] + bias[h]
                return score_mod
        ''')
        prob = self.problem("cpu_made.py", mask=False)
        prob["variant"]["score"] = {"file": "cpu_made.py", "symbol": "generate_scaled", "factory": True}
        built = VB.build(prob, self.dir, SHAPES[0], "meta", 0)  # "meta" stands in for the GPU here
        self.assertEqual({n: t.device.type for n, t in built.tensors.items()}, {"scale_h": "meta", "bias": "meta"})
        module = V.load_module(os.path.join(self.dir, "cpu_made.py"))
        self.assertIs(module.bias, built.tensors["bias"])  # the mods read the very tensor the candidate gets
        cell = dict(zip(built.score.__code__.co_freevars, built.score.__closure__))["scale_h"]
        self.assertIs(cell.cell_contents, built.tensors["scale_h"])

    def test_the_documented_example_is_accepted_and_lowers(self):
        with open(os.path.join(_paths.REPO, "problems", "VARIANTS.md")) as f:
            text = f.read()
        code = text.split("```python\n", 1)[1].split("```", 1)[0]
        self.write("my_bias.py", code)
        out = _inspect(self.problem("my_bias.py"), self.dir)
        self.assertEqual(out["errors"], [])
        self.assertIsNotNone(out["ir"], out.get("irError"))
        self.assertEqual(out["variant"]["captured"], [{"name": "bias", "dtype": "float32", "dims": ["H", 257]}])

    def test_python_control_flow_is_reported_at_its_line(self):
        path = self.write("branchy.py", '''
            import torch

            def score_mod(score, b, h, q_idx, kv_idx):
                if q_idx > kv_idx:
                    return score
                return score * 2
        ''')
        err = _inspect(self.problem("branchy.py", mask=False), self.dir)["errors"][0]
        self.assertEqual((err["file"], err["line"]), (path, 4))
        self.assertIn("Python control flow", err["message"])
        self.assertIn("(at `if q_idx > kv_idx:`)", err["message"])

    def test_an_op_without_ir_names_construct_file_and_line_and_the_model_path_remains(self):
        path = self.write("erfinv.py", '''
            import torch

            def score_mod(score, b, h, q_idx, kv_idx):
                s = score * 2
                return s + torch.erfinv(torch.tanh(s))
        ''')
        out = _inspect(self.problem("erfinv.py", mask=False), self.dir)
        self.assertEqual(out["errors"], [])  # a valid variant: only the offline template cannot compile it
        self.assertIsNone(out["ir"])
        self.assertTrue(out["irError"].startswith(f"{path}:5: `aten.erfinv.default` has no counterpart in the kernel IR"), out["irError"])
        self.assertIn("(at `return s + torch.erfinv(torch.tanh(s))`)", out["irError"])

    def test_tensor_created_inside_the_mod_and_shape_baked_numbers_are_lowering_errors(self):
        path = self.write("made.py", '''
            import torch

            def generate_mods(S):
                half = S // 2

                def score_mod(score, b, h, q_idx, kv_idx):
                    w = torch.tensor([1.0, 2.0, 3.0])
                    return score * w[h % 3] + half
                return score_mod
        ''')
        out = _inspect(self.problem("made.py", mask=False), self.dir)
        self.assertIn(f"{path}:8: a tensor of shape [3] created inside the mod", out["irError"])  # where it is read
        self.assertIn("(at `return score * w[h % 3] + half`)", out["irError"])
        self.write("baked.py", '''
            def generate_mods(S):
                def score_mod(score, b, h, q_idx, kv_idx):
                    return score + (S // 2 - q_idx)
                return score_mod
        ''')
        baked = _inspect(self.problem("baked.py", mask=False), self.dir)
        self.assertEqual(baked["errors"], [])
        self.assertIn("the mods lower to different expressions at different shapes", baked["irError"])
        self.write("lifted.py", '''
            import torch

            def generate_alibi_offset(H, S_kv):
                def score_mod(score, b, h, q_idx, kv_idx):
                    slope = torch.exp2(-8.0 * (h + 1) / H)
                    return score + slope * (kv_idx - q_idx) + 0.001 * (S_kv - 1 - kv_idx)
                return score_mod
        ''')
        lifted = _inspect(self.problem("lifted.py", mask=False), self.dir)
        mods = IR.mods_from_json(lifted["ir"])
        self.assertEqual(mods.scalars, ("shape_H", "shape_S_kv"))
        shape = SHAPES[2]  # S_q 6, S_kv 11, H 4: the lifted IR means the same at a shape it was not traced at
        built = VB.build({**self.problem("lifted.py", mask=False), "variant": lifted["variant"]}, self.dir, shape, "cpu", 0)
        for h, qi, kv in ((0, 1, 2), (3, 5, 10), (2, 0, 7)):
            env = {"score": 0.5, "b": 0, "h": h, "q_idx": qi, "kv_idx": kv, "shape_H": 4, "shape_S_kv": 11}
            want = float(built.score(torch.tensor(0.5, dtype=torch.float64), *[torch.tensor(x) for x in (0, h, qi, kv)]))
            got = eval_ir(lifted["ir"]["score"], env, {})
            self.assertAlmostEqual(got, want, places=9)

    def test_factory_arguments_it_cannot_fill_and_failing_imports_name_the_line(self):
        path = self.write("needs.py", '''
            import torch

            def generate_window(window_size):
                def mask_mod(b, h, q_idx, kv_idx):
                    return q_idx - kv_idx < window_size
                return mask_mod
        ''')
        err = _inspect(self.problem("needs.py", score=False), self.dir)["errors"][0]
        self.assertEqual((err["file"], err["line"]), (path, 3))
        self.assertIn("parameter `window_size` has no default", err["message"])
        bad = self.write("bad.py", "import torch\n\nTABLE = torch.load('missing.pt')\n")
        err = _inspect(self.problem("bad.py"), self.dir)["errors"][0]
        self.assertEqual((err["file"], err["line"]), (bad, 3))
        self.assertIn("importing it raised FileNotFoundError", err["message"])
        syn = self.write("syn.py", "def mask_mod(b, h, q_idx, kv_idx)\n    return q_idx >= kv_idx\n")
        err = _inspect(self.problem("syn.py", score=False), self.dir)["errors"][0]
        self.assertEqual((err["file"], err["line"]), (syn, 1))
        self.assertIn("syntax error", err["message"])

    def test_data_loaded_beside_the_file_and_an_irreproducible_factory(self):
        torch.save(torch.randn(4, 9), os.path.join(self.dir, "rel_bias.pt"))
        self.write("learned.py", '''
            import os
            import torch

            def generate_learned(H, device):
                table = torch.load(os.path.join(os.path.dirname(__file__), "rel_bias.pt")).to(device)

                def score_mod(score, b, h, q_idx, kv_idx):
                    return score + table[h % 4, torch.clamp(q_idx - kv_idx, -4, 4) + 4]
                return score_mod
        ''')
        out = _inspect(self.problem("learned.py", mask=False), self.dir)
        self.assertEqual(out["errors"], [])
        self.assertEqual(out["variant"]["captured"], [{"name": "table", "dtype": "float32", "dims": [4, 9]}])
        self.write("noisy.py", '''
            import os
            import torch

            def generate_noisy(S):
                g = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
                ids = torch.randint(0, 3, (S,), generator=g)

                def mask_mod(b, h, q_idx, kv_idx):
                    return ids[q_idx] == ids[kv_idx]
                return mask_mod
        ''')
        err = _inspect(self.problem("noisy.py", score=False), self.dir)["errors"][0]
        self.assertIn("captured tensor `ids` differs between two builds with the same seed", err["message"])


class ShapesAndFaults(unittest.TestCase):
    def test_cross_attention_and_fp16_inputs(self):
        q, k, v = correctness.make_inputs({"B": 1, "H": 4, "Hkv": 2, "S": 5, "Skv": 13, "D": 16, "dtype": "fp16"}, "cpu", 0)
        self.assertEqual((tuple(q.shape), tuple(k.shape), q.dtype), ((1, 4, 5, 16), (1, 2, 13, 16), torch.float16))
        validate_output(torch.zeros(1, 4, 5, 16, dtype=torch.float16), {"B": 1, "H": 4, "S": 5, "D": 16, "dtype": "fp16"}, "cpu")
        # the low-precision reference in fp16 (emulated on a CPU torch without half matmul), over S_q != S_kv
        built = VB.Built(lambda s, b, h, qi, kv: s - 0.1 * (qi - kv).abs(), lambda b, h, qi, kv: kv <= qi + 8)
        lo, hi = VB.evaluate(q, k, v, 0.25, built), VB.evaluate(q.double(), k.double(), v.double(), 0.25, built)
        self.assertEqual((lo.dtype, tuple(lo.shape)), (torch.float16, (1, 4, 5, 16)))
        self.assertLess(float((lo.double() - hi).abs().max()), 0.02)
        with self.assertRaises(Verdict):
            validate_output(torch.zeros(1, 4, 5, 16, dtype=torch.bfloat16), {"B": 1, "H": 4, "S": 5, "D": 16, "dtype": "fp16"}, "cpu")

    def test_a_reference_that_does_not_import_is_the_problems_fault_with_file_and_line(self):
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "reference.py")
            with open(path, "w") as f:
                f.write("import torch\n\ndef reference(q, k, v, *, scale):\n    return q\n\nBROKEN = 1 / 0\n")
            with self.assertRaises(ProblemFault) as ctx:
                load_reference(path)
            self.assertEqual(problem_fault(ctx.exception), {"status": "problem_error", "file": path, "line": 6,
                                                            "message": f"{path}:6: importing it raised ZeroDivisionError: division by zero"})
            with open(os.path.join(d, "syn.py"), "w") as f:
                f.write("def reference(q, k, v, *, scale)\n    return q\n")
            with self.assertRaises(ProblemFault) as ctx:
                load_reference(os.path.join(d, "syn.py"))
            self.assertEqual(ctx.exception.line, 1)
            self.assertIn("syntax error", str(ctx.exception))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_lowering_rejects_reading_tensor_values_into_python(self):
        def score_mod(score, b, h, q_idx, kv_idx):
            return score * torch.erfinv(torch.sigmoid(score))

        gm = trace_mods.trace(score_mod, "score", [__file__])
        with self.assertRaises(lower_fx.LowerError) as ctx:
            lower_fx.lower(gm, "score", {}, [__file__])
        self.assertEqual(ctx.exception.line, score_mod.__code__.co_firstlineno + 1)
        self.assertEqual(ctx.exception.construct, "torch op erfinv")


if __name__ == "__main__":
    unittest.main()
