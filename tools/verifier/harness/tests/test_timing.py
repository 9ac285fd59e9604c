"""Timing statistics and the speed-of-light table."""
import unittest

from tests import _paths  # noqa: F401

from kforge_harness import timing
from kforge_harness.reference import attention_flops


class Timing(unittest.TestCase):
    def test_summarize(self):
        s = timing.summarize([1.0, 2.0, 3.0, 4.0, 100.0])
        self.assertEqual(s["ms"], 3.0)
        self.assertEqual(s["runs"], 5)
        self.assertGreater(s["spread"], 0)
        self.assertEqual(timing.summarize([1.0, 3.0])["ms"], 2.0)

    def test_peaks(self):
        self.assertEqual(timing.peak_tflops("NVIDIA H100 80GB HBM3"), 989.0)
        self.assertEqual(timing.peak_tflops("NVIDIA H100 PCIe"), 756.0)
        self.assertEqual(timing.peak_tflops("NVIDIA A100-SXM4-80GB"), 312.0)
        self.assertEqual(timing.peak_tflops("NVIDIA H200"), 989.0)
        self.assertEqual(timing.peak_tflops("some future GPU"), timing.UNKNOWN_PEAK)

    def test_tflops_counts_unmasked_work(self):
        shape = {"B": 4, "H": 16, "S": 4096, "D": 128}
        full = attention_flops(shape, 1.0)
        self.assertEqual(full, 4.0 * 4 * 16 * 4096 * 4096 * 128)
        self.assertAlmostEqual(timing.tflops(full, 1.0), full / 1e-3 / 1e12)
        self.assertEqual(attention_flops(shape, 0.5), full / 2)

    def test_cpu_runs_are_counted(self):
        calls = []
        times = timing.time_runs(lambda i: calls.append(i), 3, "cpu", budget_s=0.0, warmup=2, min_runs=5, max_runs=5)
        self.assertEqual(len(times), 5)
        self.assertEqual(calls, [0, 1, 0, 1, 2, 0, 1])  # warm-up 0,1 then runs rotate over 3 sets


if __name__ == "__main__":
    unittest.main()
