"""The job schema: the fields of tools/verifier/job.ts, nothing else, each of its JSON type."""
import json
import unittest

from tests import _paths  # noqa: F401
from kforge_harness.protocol import parse_job

GOOD = {"mode": "verify", "nonce": "n", "device": "cpu", "problem": {}, "reference_path": "/r.py", "seed": 3,
        "source": "x = 1", "timing": False, "baseline": None, "extra": {"candidate_id": "1.1"}}


class ParseJob(unittest.TestCase):
    def test_accepts_the_schema(self):
        job = parse_job(json.dumps(GOOD))
        self.assertEqual((job.mode, job.seed, job.timing, job.extra), ("verify", 3, False, {"candidate_id": "1.1"}))

    def test_refuses_unknown_fields(self):
        with self.assertRaisesRegex(ValueError, "unknown job field.*static_check"):
            parse_job(json.dumps({**GOOD, "static_check": False}))  # a typo must not silently keep the checks on

    def test_refuses_wrong_types_and_missing_fields(self):
        with self.assertRaisesRegex(ValueError, "job.timing has the wrong type"):
            parse_job(json.dumps({**GOOD, "timing": "no"}))
        with self.assertRaisesRegex(ValueError, "job.seed has the wrong type"):
            parse_job(json.dumps({**GOOD, "seed": True}))
        with self.assertRaisesRegex(ValueError, "missing job field.*reference_path"):
            parse_job(json.dumps({k: v for k, v in GOOD.items() if k != "reference_path"}))
        with self.assertRaisesRegex(ValueError, "job.mode must be one of"):
            parse_job(json.dumps({**GOOD, "mode": "exec"}))


if __name__ == "__main__":
    unittest.main()
