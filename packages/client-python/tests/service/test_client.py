"""The service's own calls for new code: fetch, prefetch, wait_for, prepare with leases, errors."""

import os
import unittest

from support import FILES, MODELS_DIR, client, file_url, missing_url

from model_manager_client import InvalidRequestError, JobFailedError, NotFoundError, WaitTimeoutError


class FetchAndWaitTest(unittest.TestCase):
    def test_fetch_queues_wait_for_follows_the_job_and_the_next_fetch_is_a_cache_hit(self):
        mm = client()
        name = "client-fetch.safetensors"
        queued = mm.fetch("lora", "client fetch", file_url(name, "slow", "?ms=20&chunk=65536"), sha256=FILES[name])
        self.assertIn(queued["status"], ("queued", "active"))
        job = mm.wait_for(queued["jobId"], timeout=60)
        self.assertEqual(job["status"], "completed")
        self.assertEqual(job["model"]["sha256"], FILES[name])
        self.assertTrue(os.path.isfile(job["model"]["path"]))
        again = mm.fetch("lora", "client fetch", file_url(name), wait_seconds=10)
        self.assertEqual((again["status"], again["model"]["path"]), ("cached", job["model"]["path"]))
        self.assertEqual(mm.model("lora", "client fetch")["sha256"], FILES[name])

    def test_the_same_bytes_under_another_name_are_linked_and_verified_says_whether_a_hash_was_known(self):
        mm = client()
        name = "client-linked.safetensors"
        first = mm.fetch("lora", "client linked", file_url(name), sha256=FILES[name], wait_seconds=30)
        self.assertEqual((first["status"], first["verified"]), ("completed", True))
        linked = mm.fetch("embedding", "client linked copy", file_url(name), sha256=FILES[name], wait_seconds=600)
        self.assertEqual((linked["status"], linked["verified"]), ("linked", True))
        self.assertTrue(os.path.isfile(linked["model"]["path"]))
        cached = mm.fetch("lora", "client linked", file_url(name))
        self.assertEqual((cached["status"], cached["verified"]), ("cached", False))
        self.assertTrue(cached["unverifiedReason"])

    def test_a_failed_job_is_a_job_failed_error_with_the_jobs_code(self):
        with self.assertRaises(JobFailedError) as caught:
            client().fetch("lora", "client wrong", file_url("client-wrong.safetensors"), sha256="c" * 64, wait_seconds=30)
        self.assertEqual((caught.exception.code, caught.exception.status), ("HASH_MISMATCH", 502))
        self.assertTrue(caught.exception.job_id)

    def test_wait_for_gives_up_after_its_timeout_and_the_job_goes_on(self):
        mm = client()
        # The origin stops sending half way and keeps the connection open: the job cannot finish soon.
        queued = mm.fetch("lora", "client stalled", file_url("client-stall.safetensors", query="?stallAt=32768"))
        with self.assertRaises(WaitTimeoutError) as caught:
            mm.wait_for(queued["jobId"], timeout=1)
        self.assertEqual((caught.exception.code, caught.exception.job_ids), ("WAIT_TIMEOUT", [queued["jobId"]]))
        self.assertIn(mm.job(queued["jobId"])["status"], ("queued", "active"))

    def test_prefetch_and_wait_for_batch_settle_every_item_a_failure_with_its_code(self):
        mm = client()
        created = mm.prefetch([
            {"kind": "lora", "name": "client batch a", "url": file_url("client-batch-a.safetensors")},
            {"kind": "embedding", "name": "client batch gone", "url": missing_url("batch")},
        ])
        batch = mm.wait_for_batch(created["batchId"], timeout=60)
        self.assertTrue(batch["done"])
        by_name = {item["name"]: item for item in batch["jobs"]}
        self.assertEqual(by_name["client batch a"]["status"], "completed")
        self.assertEqual(by_name["client batch gone"]["status"], "failed")
        self.assertEqual(by_name["client batch gone"]["error"]["code"], "HTTP_ERROR")


class PrepareTest(unittest.TestCase):
    def test_prepare_leases_its_models_until_the_block_ends(self):
        mm = client()
        with mm.prepare({"name": "client prepare checkpoint", "url": file_url("client-prepare.safetensors")},
                        [{"name": "client prepare lora", "url": file_url("client-prepare-lora.safetensors"), "scale": 0.5}],
                        prompt="a lighthouse") as prepared:
            self.assertEqual(prepared.failed, [])
            self.assertTrue(os.path.isfile(prepared.checkpoint_path))
            self.assertEqual(prepared.prompt, "<lora:client prepare lora:0.5> a lighthouse")
            self.assertEqual(sorted(d["name"] for d in prepared.downloaded), ["client prepare checkpoint", "client prepare lora"])
            renewed = prepared.renew(120)
            self.assertEqual(sorted(m["name"] for m in renewed["models"]), ["client prepare checkpoint", "client prepare lora"])
        with self.assertRaises(NotFoundError) as caught:
            mm.renew_lease(prepared.lease_id)
        self.assertEqual(caught.exception.code, "LEASE_NOT_FOUND")
        prepared.release()  # a second release is no error

    def test_paths_are_rewritten_for_a_process_that_sees_the_volume_elsewhere(self):
        mm = client(path_map=(MODELS_DIR, "/runpod-volume/models"))
        prepared = mm.prepare(None, [{"name": "client mapped", "url": file_url("client-mapped.safetensors")}])
        prepared.release()
        self.assertEqual(prepared.loras[0]["path"], "/runpod-volume/models/loras/client mapped.safetensors")


class ErrorsTest(unittest.TestCase):
    def test_an_unknown_model_is_not_found_with_the_apis_code(self):
        with self.assertRaises(NotFoundError) as caught:
            client().model("lora", "client never fetched")
        self.assertEqual((caught.exception.code, caught.exception.status), ("NOT_FOUND", 404))

    def test_a_refused_request_names_the_field(self):
        with self.assertRaises(InvalidRequestError) as caught:
            client().fetch("lora", "client bad url", "ftp://example.com/x.safetensors")
        self.assertEqual(caught.exception.code, "INVALID_REQUEST")
        self.assertIn("url", [d["field"] for d in caught.exception.details])

    def test_bad_input_is_refused_before_sending_naming_what_is_wrong(self):
        with self.assertRaisesRegex(ValueError, "kind must be one of checkpoint, lora, embedding; got 'vae'"):
            client().fetch("vae", "x", "https://example.com/x")
        with self.assertRaisesRegex(ValueError, r"loras\[0\] needs a url or a source .*got neither"):
            client().prepare(loras=[{"name": "x"}])


class UnicodeNamesTest(unittest.TestCase):
    def test_names_in_other_scripts_and_with_punctuation_go_through_bodies_and_url_paths(self):
        mm = client()
        for i, name in enumerate(["Café Noir #2", "水彩画 Watercolor @ Style", "Pony's Eyes+ [SDXL]", "50% off?"]):
            with self.subTest(name=name):
                answer = mm.fetch("lora", name, file_url(f"client-unicode-{i}.safetensors"), wait_seconds=30)
                self.assertEqual(os.path.basename(answer["model"]["path"]), f"{name}.safetensors")
                self.assertEqual(mm.model("lora", name)["name"], name)
                self.assertTrue(mm.pin("lora", name)["pinned"])
                mm.unpin("lora", name)
                mm.delete_model("lora", name)
                with self.assertRaises(NotFoundError):
                    mm.model("lora", name)


if __name__ == "__main__":
    unittest.main()
