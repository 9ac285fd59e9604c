"""Reference math: the problems' references, golden/lowprec pairs, mask density and kind."""
import importlib.util
import math
import os
import unittest

from tests import _paths
import torch

from kforge_harness import correctness, params, reference
from kforge_harness.problem import load_problem_dir

CPU_TINY = os.path.join(_paths.FIXTURES, "problems", "cpu_tiny")
PROBLEMS = os.path.join(_paths.REPO, "problems")


def suite():
    return sorted(n for n in os.listdir(PROBLEMS) if os.path.exists(os.path.join(PROBLEMS, n, "problem.json")))


def naive(q, k, v, scale, cap):
    """Softcapped causal attention, one query row at a time, in float64."""
    b_, h_, s_, d_ = q.shape
    g = h_ // k.shape[1]
    out = torch.zeros(b_, h_, s_, d_, dtype=torch.float64)
    for b in range(b_):
        for h in range(h_):
            for i in range(s_):
                sc = [cap * math.tanh(float(q[b, h, i] @ k[b, h // g, j]) * scale / cap) for j in range(i + 1)]
                m = max(sc)
                w = [math.exp(x - m) for x in sc]
                out[b, h, i] = sum(wj * v[b, h // g, j] for j, wj in enumerate(w)) / sum(w)
    return out


class ReferenceMath(unittest.TestCase):
    def test_cpu_tiny_reference_matches_a_naive_loop(self):
        spec, ref_path = load_problem_dir(CPU_TINY)
        ref = reference.load_reference(ref_path)
        shape = spec["shapes"]["correctness"][1]  # GQA, S=33
        q, k, v = (t.double() for t in correctness.make_inputs(shape, "cpu", 3))
        got = ref.reference(q, k, v, scale=0.25, cap=30)
        self.assertLess(float((got - naive(q, k, v, 0.25, 30)).abs().max()), 1e-10)

    def test_golden_pair_dtypes_and_bf16_error(self):
        spec, ref_path = load_problem_dir(CPU_TINY)
        ref = reference.load_reference(ref_path)
        shape = spec["shapes"]["correctness"][0]
        q, k, v = correctness.make_inputs(shape, "cpu", 1)
        golden, lowprec = reference.golden_pair(ref, q, k, v, 0.25, {"cap": 30})
        self.assertEqual(golden.dtype, torch.float64)
        err = float((lowprec - golden).abs().max())
        self.assertGreater(err, 0.0)  # bf16 math is measurably off ...
        self.assertLess(err, 0.1)  # ... but close

    def test_every_suite_reference_runs_and_agrees_with_its_mods(self):
        spec_ = importlib.util.spec_from_file_location("flex_eval", os.path.join(PROBLEMS, "_common", "flex_eval.py"))
        flex_eval = importlib.util.module_from_spec(spec_)
        spec_.loader.exec_module(flex_eval)
        names = suite()
        self.assertGreaterEqual(len(names), 1)
        for name in names:
            with self.subTest(problem=name):
                spec, ref_path = load_problem_dir(os.path.join(PROBLEMS, name))
                ref = reference.load_reference(ref_path)
                shape = min(spec["shapes"]["correctness"], key=lambda s: abs(s["S"] - 77))
                q, k, v = (t.double() for t in correctness.make_inputs(shape, "cpu", 11))
                p = params.materialise(spec["params"], shape, "cpu", 11)
                p64 = params.cast_float_tensors(p, torch.float64)
                scale = reference.default_scale(shape)
                got = ref.reference(q, k, v, scale=scale, **p64)
                want = flex_eval.flex_reference(q, k, v, scale, reference.score_mod(ref, p64), reference.mask_mod(ref, p64))
                self.assertTrue(bool(torch.isfinite(got).all()))
                self.assertLess(float((got - want).abs().max()), 1e-9)


class Masks(unittest.TestCase):
    def test_density_and_kind(self):
        causal = lambda b, h, q, kv: q >= kv  # noqa: E731
        self.assertEqual(reference.mask_density(None, 64, "cpu"), 1.0)
        self.assertAlmostEqual(reference.mask_density(causal, 64, "cpu", rows_per_chunk=7), 65 / 128)
        self.assertEqual(reference.mask_kind(None, "cpu"), "full")
        self.assertEqual(reference.mask_kind(causal, "cpu"), "causal")
        self.assertEqual(reference.mask_kind(lambda b, h, q, kv: (q - kv) < 4, "cpu"), "other")

    def test_document_mask_density_counts_pairs(self):
        docs = params.random_docs(50, 4, 1)
        mask = lambda b, h, q, kv: (q >= kv) & (docs[q] == docs[kv])  # noqa: E731
        want = sum(1 for i in range(50) for j in range(50) if i >= j and docs[i] == docs[j]) / 2500
        self.assertAlmostEqual(reference.mask_density(mask, 50, "cpu", rows_per_chunk=16), want)


if __name__ == "__main__":
    unittest.main()


class EmptyRows(unittest.TestCase):
    def test_fully_masked_rows_expect_zero(self):
        """A naive reference (softmax over all -inf) gives NaN rows; the golden output says 0 there."""

        class Naive:
            @staticmethod
            def reference(q, k, v, *, scale):
                s = (q @ k.transpose(-2, -1)) * scale
                n = q.shape[-2]
                keep = torch.arange(n)[:, None] > torch.arange(n)[None, :]  # row 0 sees no key
                return torch.softmax(s.masked_fill(~keep, float("-inf")), dim=-1) @ v

        q, k, v = correctness.make_inputs({"B": 1, "H": 1, "Hkv": 1, "S": 5, "D": 16}, "cpu", 0)
        golden, lowprec = reference.golden_pair(Naive, q, k, v, 0.25, {})
        self.assertTrue(bool(torch.isfinite(golden).all()))
        self.assertEqual(float(golden[0, 0, 0].abs().max()), 0.0)
        self.assertEqual(float(lowprec[0, 0, 0].abs().max()), 0.0)
