"""Entry point of one harness process (see kforge_harness/worker.py).

  python run_candidate.py --device cuda --channel fd:3 < job.json      (the TypeScript client)
  python run_candidate.py --device cpu --channel file:events.jsonl --job-file job.json
  python run_candidate.py --probe
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

from kforge_harness.worker import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
