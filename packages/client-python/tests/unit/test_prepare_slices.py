import unittest

from model_manager_client.prepared import prepare_in_slices, without_failed

REQUEST = {
    "checkpoint": {"name": "base", "url": "https://h/base"},
    "loras": [{"name": "a", "url": "https://h/a", "scale": 1.0}, {"name": "b", "url": "https://h/b", "scale": 0.5}],
    "prompt": "a cat",
}


def failure(kind, name, code):
    return {"kind": kind, "name": name, "error": {"code": code, "message": code.lower()}}


class PrepareInSlicesTest(unittest.TestCase):
    """How a long wait is split into requests the API and proxies hold, with the API's answers given."""

    def run_slices(self, answers, wait_seconds=1000, max_hold=290):
        asked, released = [], []

        def ask(pending, hold):
            asked.append((pending, hold))
            return answers[len(asked) - 1]

        result = prepare_in_slices(ask, released.append, REQUEST, wait_seconds, max_hold)
        return result, asked, released

    def test_asks_again_for_what_did_not_finish_leaving_out_what_failed_for_good(self):
        first = {"checkpointPath": None, "loras": [], "failed": [failure("checkpoint", "base", "WAIT_TIMEOUT"), failure("lora", "a", "HASH_MISMATCH")],
                 "downloaded": [{"kind": "lora", "name": "b"}], "leaseId": "L1"}
        second = {"checkpointPath": "/v/checkpoints/base.safetensors", "loras": [], "failed": [],
                  "downloaded": [{"kind": "checkpoint", "name": "base"}], "leaseId": "L2"}
        result, asked, released = self.run_slices([first, second])
        self.assertEqual([hold for _, hold in asked], [290, 290])
        self.assertEqual([lora["name"] for lora in asked[1][0]["loras"]], ["b"])
        self.assertEqual(released, ["L1"])
        self.assertEqual(result["leaseId"], "L2")
        self.assertEqual(result["failed"], [failure("lora", "a", "HASH_MISMATCH")])
        # What the first request fetched is a cache hit in the second: both count as downloaded.
        self.assertEqual(result["downloaded"], [{"kind": "lora", "name": "b"}, {"kind": "checkpoint", "name": "base"}])

    def test_a_wait_within_one_hold_is_one_request_and_its_timeouts_are_answered(self):
        only = {"checkpointPath": None, "loras": [], "failed": [failure("checkpoint", "base", "WAIT_TIMEOUT")], "leaseId": "L1"}
        result, asked, released = self.run_slices([only], wait_seconds=60)
        self.assertEqual(len(asked), 1)
        self.assertEqual(asked[0][1], 60)
        self.assertEqual(released, [])
        self.assertEqual(result["failed"][0]["error"]["code"], "WAIT_TIMEOUT")
        self.assertEqual(result["downloaded"], [])

    def test_refuses_a_negative_wait(self):
        with self.assertRaisesRegex(ValueError, "wait_seconds"):
            prepare_in_slices(lambda p, h: {}, lambda lease: None, REQUEST, -1, 290)


class WithoutFailedTest(unittest.TestCase):
    def test_drops_the_checkpoint_and_loras_named_and_keeps_the_rest(self):
        pending = without_failed(REQUEST, [failure("checkpoint", "base", "X"), failure("lora", "b", "X")])
        self.assertNotIn("checkpoint", pending)
        self.assertEqual([lora["name"] for lora in pending["loras"]], ["a"])
        self.assertEqual(pending["prompt"], "a cat")
        self.assertIn("checkpoint", REQUEST)


if __name__ == "__main__":
    unittest.main()
