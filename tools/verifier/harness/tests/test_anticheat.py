"""Dynamic rules that can be exercised without a GPU: kernel lists, aliasing, mutation, timers, threads."""
import threading
import time
import unittest

from tests import _paths  # noqa: F401
import torch

from kforge_harness import anticheat
from kforge_harness.protocol import Verdict

FILL = "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, std::array<char*, 1ul> >(int, at::native::FillFunctor<float>, std::array<char*, 1ul>)"


def trace(*kernels, stream=7):
    return [{"name": FILL, "stream": 7}] + [{"name": k, "stream": stream} for k in kernels]


class Kernels(unittest.TestCase):
    def rule(self, t, own=("_attn_fwd",)):
        try:
            anticheat.check_kernels(t, list(own), "here")
        except Verdict as v:
            return v.result["rule"]
        return None

    def test_own_triton_and_infra_kernels_pass(self):
        self.assertIsNone(self.rule(trace("_attn_fwd", FILL, "_attn_fwd")))
        self.assertIsNone(self.rule(trace("_attn_fwd_0d1d2d3de")))  # older Triton's signature suffix
        self.assertIsNone(self.rule(trace("my_kernel(float*, int)"), own=("my_kernel",)))  # load_inline, demangled

    def test_library_kernels_are_rejected(self):
        for name in ["sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64", "void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<128> >(Flash_fwd_params)",
                     "cudnn_generated_fort_native_sdpa_sm90_flash_fprop", "triton_tem_fused_0", "void at::native::(anonymous namespace)::cunn_SoftMaxForward<8>(float*)"]:
            with self.subTest(name=name):
                self.assertEqual(self.rule(trace("_attn_fwd", name)), "dynamic.library_kernel")

    def test_a_name_prefix_is_not_enough(self):
        self.assertEqual(self.rule(trace("cutlass::Kernel2<x>"), own=("cutlass",)), "dynamic.library_kernel")

    def test_no_kernel_at_all(self):
        self.assertEqual(self.rule(trace()), "dynamic.library_kernel")

    def test_side_stream(self):
        self.assertEqual(self.rule(trace("_attn_fwd", stream=13)), "dynamic.side_stream")


class Memory(unittest.TestCase):
    def test_alias_and_mutation(self):
        q = torch.zeros(4, 4)
        with self.assertRaises(Verdict) as c:
            anticheat.check_no_alias(q[1:], {"q": q})
        self.assertEqual(c.exception.result["rule"], "dynamic.output_aliasing")
        anticheat.check_no_alias(torch.zeros(4, 4), {"q": q})
        snap = {"q": q.clone()}
        q[0, 0] = 1
        with self.assertRaises(Verdict) as c:
            anticheat.check_inputs_unchanged(snap, {"q": q})
        self.assertEqual(c.exception.result["rule"], "dynamic.input_mutation")

    def test_previous_output_changed(self):
        out = torch.ones(3)
        copy = out.clone()
        anticheat.check_previous_output(out, copy)
        out[0] = 5
        with self.assertRaises(Verdict):
            anticheat.check_previous_output(out, copy)


class Process(unittest.TestCase):
    def test_timer_patch_is_seen(self):
        snap = anticheat.TimerSnapshot()
        snap.check("now")
        real = time.perf_counter
        time.perf_counter = lambda: 0.0
        try:
            with self.assertRaises(Verdict) as c:
                snap.check("after")
            self.assertEqual(c.exception.result["rule"], "dynamic.patched_timer")
        finally:
            time.perf_counter = real

    def test_new_threads_are_seen(self):
        before = anticheat.Threads()
        anticheat.check_threads(before, "idle")
        stop = threading.Event()
        t = threading.Thread(target=stop.wait)
        t.start()
        try:
            with self.assertRaises(Verdict) as c:
                anticheat.check_threads(before, "with a thread")
            self.assertEqual(c.exception.result["rule"], "dynamic.threads")
        finally:
            stop.set()
            t.join()


if __name__ == "__main__":
    unittest.main()
