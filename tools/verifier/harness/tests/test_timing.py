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

    def test_batch_size_amortises_launch_latency(self):
        self.assertEqual(timing.batch_size(0.1, target_ms=5.0, max_batch=32), 32)  # capped
        self.assertEqual(timing.batch_size(1.0, target_ms=5.0, max_batch=32), 5)
        self.assertEqual(timing.batch_size(1.2, target_ms=5.0, max_batch=32), 5)  # ceil(4.17)
        self.assertEqual(timing.batch_size(40.0, target_ms=5.0, max_batch=32), 1)  # slow kernels: one per sample
        self.assertEqual(timing.batch_size(0.0, target_ms=5.0, max_batch=32), 32)

    def test_cuda_path_times_batches_between_events(self):
        """The CUDA path with the event functions replaced by a fake clock: each sample covers a batch of
        back-to-back calls that rotate over the sets, and is divided by the batch size."""
        with FakeCudaClock() as clock:
            def call(i):
                clock.t += 2.0 + i  # ms of "GPU work", different per set
                clock.log.append(i)

            times = timing.time_runs(call, 3, "cuda", budget_s=0.0, warmup=3, min_runs=4, max_runs=4)
        # the estimate is the fastest synchronised call (2 ms) -> batches of ceil(5 / 2) = 3 calls
        self.assertEqual(len(times), 4)
        self.assertEqual(times, [3.0, 3.0, 3.0, 3.0])  # (2 + 3 + 4) / 3 per batch over sets 0, 1, 2
        # each batch: record, three calls over sets 0, 1, 2, record, one device-wide sync
        self.assertEqual(clock.log[-4 * 6:], ["record", 0, 1, 2, "record", "sync"] * 4)

    def test_explicit_batch_rotates_sets(self):
        seen = []
        with FakeCudaClock() as clock:
            def call(i):
                clock.t += 1.0
                seen.append(i)

            times = timing.time_runs(call, 3, "cuda", budget_s=0.0, warmup=0, min_runs=2, max_runs=2, batch=4)
        self.assertEqual(times, [1.0, 1.0])
        self.assertEqual(seen, [0, 1, 2, 0, 1, 2, 0, 1])  # two batches of four, rotating over three sets


class FakeCudaClock:
    """Replaces timing's captured CUDA event functions (and the warm-up time) with a clock the test advances;
    `log` records event records and synchronisations in order."""

    def __enter__(self):
        self.t = 0.0
        self.log = []
        clock = self

        class FakeEvent:
            def __init__(self, enable_timing=True):
                self.t = None

        def record(ev):
            ev.t = clock.t
            clock.log.append("record")

        self._saved = (timing._Event, timing._record, timing._elapsed, timing._synchronize, timing.WARMUP_S)
        timing._Event, timing._record, timing._elapsed = FakeEvent, record, lambda a, b: b.t - a.t
        timing._synchronize = lambda: clock.log.append("sync")
        timing.WARMUP_S = 0.0
        return self

    def __exit__(self, *exc):
        timing._Event, timing._record, timing._elapsed, timing._synchronize, timing.WARMUP_S = self._saved
        return False


if __name__ == "__main__":
    unittest.main()
