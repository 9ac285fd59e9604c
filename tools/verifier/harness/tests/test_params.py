"""Problem params materialised per shape and seed."""
import unittest

from tests import _paths  # noqa: F401
import torch

from kforge_harness import params

SHAPE = {"B": 1, "H": 8, "Hkv": 8, "S": 100, "D": 16}


class Params(unittest.TestCase):
    def test_numbers_pass_through(self):
        self.assertEqual(params.materialise({"cap": 30, "window": 1024}, SHAPE, "cpu", 0), {"cap": 30, "window": 1024})

    def test_alibi_slopes(self):
        s = params.materialise({"slopes": "alibi"}, SHAPE, "cpu", 0)["slopes"]
        self.assertEqual(s.dtype, torch.float32)
        self.assertEqual(tuple(s.shape), (8,))
        for h in range(8):
            self.assertAlmostEqual(float(s[h]), 2.0 ** (-8.0 * (h + 1) / 8), places=7)

    def test_random_docs(self):
        d = params.materialise({"doc_ids": "random_docs(8)"}, SHAPE, "cpu", 3)["doc_ids"]
        self.assertEqual(d.dtype, torch.int32)
        self.assertEqual(tuple(d.shape), (100,))
        self.assertEqual(int(d[0]), 0)
        self.assertEqual(int(d[-1]), 7)
        self.assertTrue(bool((d[1:] - d[:-1] >= 0).all()))
        self.assertEqual(len(torch.unique(d)), 8)
        again = params.materialise({"doc_ids": "random_docs(8)"}, SHAPE, "cpu", 3)["doc_ids"]
        other = params.materialise({"doc_ids": "random_docs(8)"}, SHAPE, "cpu", 4)["doc_ids"]
        self.assertTrue(torch.equal(d, again))
        self.assertFalse(torch.equal(d, other))

    def test_random_docs_shorter_than_doc_count(self):
        d = params.random_docs(3, 8, 0)
        self.assertEqual(d.tolist(), [0, 1, 2])
        self.assertEqual(params.random_docs(1, 8, 0).tolist(), [0])

    def test_unknown_generator(self):
        with self.assertRaises(ValueError):
            params.materialise({"x": "gaussian(3)"}, SHAPE, "cpu", 0)

    def test_cast_float_tensors_only(self):
        p = params.cast_float_tensors({"a": torch.ones(2), "b": torch.ones(2, dtype=torch.int32), "c": 3.0}, torch.bfloat16)
        self.assertEqual(p["a"].dtype, torch.bfloat16)
        self.assertEqual(p["b"].dtype, torch.int32)
        self.assertEqual(p["c"], 3.0)


if __name__ == "__main__":
    unittest.main()
