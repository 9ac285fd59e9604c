"""Paths shared by the harness's unit tests (run with: python3 -m unittest discover -s tools/verifier/harness/tests -t tools/verifier/harness)."""
import os
import sys

HARNESS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HARNESS)))
FIXTURES = os.path.join(REPO, "test", "fixtures")
if HARNESS not in sys.path:
    sys.path.insert(0, HARNESS)
