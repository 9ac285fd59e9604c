"""The IR's structural features, which problems/scaffold.ts maps to the memory's tags: each on the form that earns it,
and none on look-alikes (a query compared with a tensor read at kv_idx is not causal)."""
import unittest

from tests import _paths  # noqa: F401

from kforge_harness.ir_features import features

Q, KV, SCORE, H = {"var": "q_idx"}, {"var": "kv_idx"}, {"var": "score"}, {"var": "h"}


def b(op, a, c):
    return {"bin": op, "a": a, "b": c}


def cmp(op, a, c):
    return {"cmp": op, "a": a, "b": c}


def load(t, *idx):
    return {"load": t, "index": list(idx)}


class FeaturesTest(unittest.TestCase):
    def test_causal_is_positions_against_positions(self):
        self.assertEqual(features(None, cmp(">=", Q, KV)), ["causal_compare"])
        # flamingo: the query against an interval read at the key's image: data-dependent, not causal
        start = load("intervals", load("image_of_token", KV), {"num": 0})
        self.assertNotIn("causal_compare", features(None, b("&", cmp(">=", Q, start), cmp("<", Q, load("intervals", load("image_of_token", KV), {"num": 1})))))

    def test_window_documents_prefix_grid(self):
        self.assertEqual(features(None, cmp("<=", b("-", Q, KV), {"num": 128})), ["distance_compare"])
        self.assertEqual(features(None, cmp("==", load("doc", Q), load("doc", KV))), ["documents"])
        self.assertEqual(features(None, cmp("<", KV, load("prefix_len"))), ["kv_bound"])
        self.assertIn("grid", features(None, cmp("==", b("//", Q, {"num": 64}), b("//", KV, {"num": 64}))))

    def test_scores(self):
        self.assertEqual(features({"call": "tanh", "args": [SCORE]}, None), ["tanh"])
        rel = b("+", SCORE, load("table", H, b("-", KV, Q)))
        self.assertEqual(features(rel, None), ["bias", "head_bias", "relative_bias"])
        self.assertEqual(features(b("*", SCORE, {"num": 2.0}), None), [])


if __name__ == "__main__":
    unittest.main()
