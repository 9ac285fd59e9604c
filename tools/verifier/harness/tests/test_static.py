"""Static rules: every fixture gets the verdict the manifest expects; honest code is not flagged."""
import json
import os
import unittest

from tests import _paths

from kforge_harness.static_checks import check_source, jit_function_names

KERNELS = os.path.join(_paths.FIXTURES, "kernels")


def read(path):
    with open(path) as f:
        return f.read()


def rules(src, device="cuda"):
    return [v.rule for v in check_source(src, device)]


class Fixtures(unittest.TestCase):
    def test_manifest(self):
        manifest = json.loads(read(os.path.join(KERNELS, "manifest.json")))["kernels"]
        self.assertGreater(len(manifest), 20)
        for k in manifest:
            path = os.path.join(KERNELS, k["file"])
            if not os.path.exists(path):
                continue  # good_* fixtures come from another change; absent ones are checked where they land
            with self.subTest(fixture=k["file"]):
                found = rules(read(path), k["device"])
                rule = k["expect"].get("rule", "")
                if rule.startswith("static."):
                    self.assertTrue(found, "no static rule fired")
                    self.assertEqual(found[0], rule)
                else:
                    self.assertEqual(found, [], "a static rule fired on a kernel that must reach the dynamic checks")


class Rules(unittest.TestCase):
    def test_aliases_are_resolved(self):
        self.assertEqual(rules("from torch.nn import functional as G\n"), ["static.forbidden_api"])
        self.assertEqual(rules("import torch as T\nx = T.matmul\n"), ["static.torch_compute"])
        self.assertEqual(rules("from torch import softmax\n"), ["static.torch_compute"])
        self.assertEqual(rules("import torch\ny = torch.Tensor.matmul\n"), ["static.torch_compute"])

    def test_jit_bodies_are_exempt(self):
        src = "import torch\nimport triton\nimport triton.language as tl\n\n@triton.jit\ndef k(x):\n    y = x @ x\n    return tl.exp(y.sum())\n"
        self.assertEqual(rules(src), [])
        self.assertEqual(jit_function_names(src), ["k"])

    def test_allocation_and_metadata_are_fine(self):
        src = ("import torch\nimport triton\n\ndef attention(q, k, v, *, scale, input=None):\n"
               "    o = torch.empty_like(q)\n    z = torch.zeros((1,), dtype=torch.float32, device=q.device)\n"
               "    n = triton.cdiv(q.shape[2], 64)\n    q = q.contiguous().view(-1)\n    return o\n")
        self.assertEqual(rules(src), [])

    def test_cpu_allows_torch_math_but_not_sdpa(self):
        self.assertEqual(rules("import torch\ny = torch.matmul\n", "cpu"), [])
        self.assertEqual(rules("import torch\ny = torch.nn.functional.scaled_dot_product_attention\n", "cpu"), ["static.forbidden_api"])

    def test_forbidden_imports_and_builtins(self):
        for src in ["import subprocess\n", "import ctypes\n", "from concurrent import futures\n", "import importlib\n",
                    "x = eval('1')\n", "exec('x=1')\n", "import os\nos.system('true')\n", "import sys\nm = sys.modules\n"]:
            with self.subTest(src=src):
                self.assertIn("static.forbidden_import", rules(src))

    def test_reflection_and_patching(self):
        self.assertIn("static.forbidden_api", rules("import torch\ngetattr(torch, 'comp' + 'ile')\n"))
        self.assertIn("static.forbidden_api", rules("import torch\nd = torch.__dict__\n"))
        self.assertIn("static.timer_patch", rules("import torch\ntorch.cuda.synchronize = lambda: None\n"))
        self.assertIn("static.timer_patch", rules("import time\ntime.perf_counter = lambda: 0.0\n"))
        self.assertIn("static.forbidden_api", rules("import torch\ntorch.backends.cuda.matmul.allow_tf32 = True\n"))

    def test_side_streams(self):
        self.assertEqual(rules("import torch\ns = torch.cuda.Stream()\n"), ["static.side_stream"])
        self.assertIn("static.side_stream", rules("def f(a, b):\n    a.wait_stream(b)\n"))

    def test_load_inline_kernels_are_named(self):
        src = 'SRC = """\n__global__ void __launch_bounds__(128) attn_kernel(float* o) {}\ntemplate<int N> __global__ void tiled(int x) {}\n"""\n'
        self.assertEqual(jit_function_names(src), ["attn_kernel", "tiled"])

    def test_syntax_errors_are_left_to_the_import(self):
        self.assertEqual(rules("def f(:\n"), [])


if __name__ == "__main__":
    unittest.main()
