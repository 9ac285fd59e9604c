"""The tolerance rule and the error report a model reads."""
import unittest

from tests import _paths  # noqa: F401
import torch

from kforge_harness import correctness

SHAPE = {"B": 1, "H": 2, "Hkv": 2, "S": 40, "D": 8}


class ToleranceRule(unittest.TestCase):
    def setUp(self):
        self.golden = torch.zeros(1, 2, 40, 8, dtype=torch.float64)
        self.lowprec = self.golden.clone()
        self.lowprec[0, 0, 0, 0] = 0.01  # the bf16 reference is 0.01 off: allowance = 2 * 0.01 + atol

    def test_allowance_is_twice_the_bf16_error_plus_atol(self):
        self.assertAlmostEqual(correctness.allowance(self.golden, self.lowprec, 1e-3), 0.021)

    def test_error_within_allowance_passes(self):
        out = self.golden.clone()
        out[0, 1, 5, 3] = 0.0205
        c = correctness.compare(out.bfloat16(), self.golden, self.lowprec, 1e-3, SHAPE, 1)
        self.assertTrue(c["passed"], c)
        self.assertNotIn("worst", c)

    def test_error_beyond_allowance_fails_and_says_where(self):
        out = self.golden.clone()
        out[0, 1, 5, 3] = 0.5
        c = correctness.compare(out, self.golden, self.lowprec, 1e-3, SHAPE, 7)
        self.assertFalse(c["passed"])
        self.assertEqual(c["worst"]["index"], [0, 1, 5, 3])
        self.assertAlmostEqual(c["worst"]["got"], 0.5)
        self.assertEqual(c["worst"]["expected"], 0.0)
        self.assertIn("heads [1]", c["worst"]["note"])

    def test_tail_rows_are_called_a_boundary_bug(self):
        bad = torch.zeros(1, 2, 40, 8, dtype=torch.bool)
        bad[:, :, 33:, :] = True
        self.assertIn("last 7 query rows", correctness.error_pattern(bad))

    def test_errors_everywhere_blame_the_math(self):
        bad = torch.ones(1, 2, 40, 8, dtype=torch.bool)
        self.assertIn("math itself", correctness.error_pattern(bad))

    def test_first_nonfinite(self):
        out = torch.zeros(1, 2, 40, 8)
        self.assertIsNone(correctness.first_nonfinite(out))
        out[0, 1, 39, 2] = float("nan")
        out[0, 1, 39, 3] = float("inf")
        bad = correctness.first_nonfinite(out)
        self.assertEqual(bad["index"], [0, 1, 39, 2])
        self.assertEqual(bad["count"], 2)

    def test_inputs_are_seeded_and_gqa_shaped(self):
        s = {"B": 2, "H": 4, "Hkv": 2, "S": 9, "D": 16}
        q1, k1, _ = correctness.make_inputs(s, "cpu", 5)
        q2, _, _ = correctness.make_inputs(s, "cpu", 5)
        q3, _, _ = correctness.make_inputs(s, "cpu", 6)
        self.assertEqual(tuple(k1.shape), (2, 2, 9, 16))
        self.assertEqual(q1.dtype, torch.bfloat16)
        self.assertTrue(torch.equal(q1, q2))
        self.assertFalse(torch.equal(q1, q3))

    def test_refill_keeps_the_buffer(self):
        q, k, v = correctness.make_inputs(SHAPE, "cpu", 1)
        ptr, before = q.data_ptr(), q.clone()
        correctness.refill_([q, k, v], 2)
        self.assertEqual(q.data_ptr(), ptr)
        self.assertFalse(torch.equal(q, before))


if __name__ == "__main__":
    unittest.main()
