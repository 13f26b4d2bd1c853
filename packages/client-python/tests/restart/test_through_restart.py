"""Run by test/e2e/python-client.test.ts, which stops the API, waits for this test's first retry to be
logged on stderr, and starts the API again on the same port: the call is answered once it is back."""

import logging
import os
import sys
import unittest

from model_manager_client import ModelManager, ModelManagerClient


class Recorder(logging.StreamHandler):
    """Writes the client's log lines to stderr (the test driver watches them) and keeps them."""

    def __init__(self):
        super().__init__(sys.stderr)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))
        super().emit(record)
        self.flush()


class ThroughRestartTest(unittest.TestCase):
    def test_a_call_made_while_the_api_is_down_is_answered_once_it_is_back(self):
        recorder = Recorder()
        logger = logging.getLogger("model_manager_client")
        logger.addHandler(recorder)
        try:
            mm = ModelManagerClient(os.environ["MODEL_MANAGER_URL"], os.environ["MODEL_MANAGER_TOKEN"], retry_seconds=120)
            stats = ModelManager(mm).get_cache_stats()
        finally:
            logger.removeHandler(recorder)
        self.assertEqual(set(stats["disk_usage"]), {"total", "used", "free"})
        self.assertRegex("\n".join(recorder.lines), "UNREACHABLE: cannot reach the Model Manager API .*asking again")
        self.assertEqual(mm.model("lora", "restart cached")["name"], "restart cached")


if __name__ == "__main__":
    unittest.main()
