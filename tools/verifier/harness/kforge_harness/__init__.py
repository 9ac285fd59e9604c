"""kforge's verifier harness: checks, times and polices one candidate attention kernel per process.

Entry points: run_candidate.py (a warm worker that runs one job from stdin) and gpu_selftest.py.
Stdlib + torch only; triton is imported lazily so the CPU path runs on a torch-only host.
"""
