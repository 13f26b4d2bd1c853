"""Source references, linked answers and verification, against a stub of the API that answers as
the service does when it resolves ``source`` through a host (no host needed)."""

import unittest

from stub_api import StubApi

from model_manager_client import (AuthRequiredError, ConflictError, HashConflictError, InvalidRequestError,
                                  ModelManager, ModelManagerClient, ModelManagerError, NotFoundError,
                                  SourceNotFoundError, UnverifiedError)
from model_manager_client.prepared import prepare_in_slices, without_failed

MODEL = {"kind": "lora", "name": "detail", "path": "/m/loras/detail.safetensors", "url": "https://civitai.com/x",
         "sha256": "a" * 64, "fileSize": 300, "downloadedAt": "t", "lastUsed": "t", "usageCount": 1,
         "pinned": False, "source": {"host": "civitai", "versionId": 135867}}
UNVERIFIED = {"verified": False, "unverifiedReason": "Civitai publishes no SHA-256 for this file"}


def refusal(code):
    return {"error": {"code": code, "message": f"{code.lower()} here", "details": {"field": "source"}}}


class StubTestCase(unittest.TestCase):
    def setUp(self):
        self.api = StubApi().__enter__()
        self.addCleanup(self.api.__exit__)
        self.client = ModelManagerClient(self.api.url, retry_seconds=0, max_hold_seconds=1)


class FetchBySourceTest(StubTestCase):
    def test_a_source_without_a_name_and_the_old_positional_call_send_what_they_say(self):
        self.api.reply("POST /v1/fetch", 200, {"status": "linked", "model": MODEL, "verified": True})
        self.api.reply("POST /v1/fetch", 200, {"status": "cached", "model": MODEL, **UNVERIFIED})
        linked = self.client.fetch("lora", source="civitai:135867", wait_seconds=600)
        cached = self.client.fetch("lora", "detail", "https://h/detail.safetensors", sha256="A" * 64)
        self.assertEqual(linked, {"status": "linked", "model": MODEL, "verified": True})
        self.assertEqual(cached["unverifiedReason"], UNVERIFIED["unverifiedReason"])
        self.assertEqual(self.api.bodies(), [
            {"kind": "lora", "source": "civitai:135867"},
            {"kind": "lora", "name": "detail", "url": "https://h/detail.safetensors", "sha256": "A" * 64},
        ])
        # A linked model is there: one request, however long the wait.
        self.assertEqual([r["path"] for r in self.api.requests], ["/v1/fetch?wait=1", "/v1/fetch"])

    def test_keeps_verified_and_the_reason_when_the_wait_goes_on_on_the_job(self):
        self.api.reply("POST /v1/fetch", 202, {"status": "queued", "jobId": "7", **UNVERIFIED})
        self.api.reply("GET /v1/jobs/7", 200, {"jobId": "7", "kind": "lora", "name": "detail", "status": "completed",
                                               "progress": {"bytes": 300, "totalBytes": 300}, "attempts": 1,
                                               "model": MODEL, **UNVERIFIED})
        answer = self.client.fetch("lora", source="hf:org/repo/detail.safetensors@main", wait_seconds=30)
        self.assertEqual(answer, {"status": "completed", "jobId": "7", "model": MODEL, **UNVERIFIED})

    def test_refuses_neither_or_both_of_url_and_source_before_sending(self):
        for kwargs in ({}, {"url": "https://h/x", "source": "civitai:1"}, {"source": ""}):
            with self.subTest(kwargs=kwargs), self.assertRaisesRegex(ValueError, "url|source"):
                self.client.fetch("lora", "x", **kwargs)
        with self.assertRaisesRegex(ValueError, r"loras\[1\] needs a url or a source .*got \['source', 'url'\]"):
            self.client.prepare(loras=[{"source": "civitai:1"}, {"url": "https://h/x", "source": "civitai:2"}])
        self.assertEqual(self.api.requests, [])

    def test_each_refusal_of_a_reference_has_its_class_under_the_family_callers_catch(self):
        cases = [(404, "SOURCE_NOT_FOUND", SourceNotFoundError, NotFoundError),
                 (409, "HASH_CONFLICT", HashConflictError, ConflictError),
                 (422, "AUTH_REQUIRED", AuthRequiredError, ModelManagerError),
                 (422, "UNVERIFIED", UnverifiedError, ModelManagerError)]
        for status, code, cls, family in cases:
            with self.subTest(code=code):
                self.api.reply("POST /v1/fetch", status, refusal(code))
                with self.assertRaises(cls) as caught:
                    self.client.fetch("checkpoint", source="civitai:999")
                err = caught.exception
                self.assertIsInstance(err, family)
                self.assertNotIsInstance(err, InvalidRequestError)
                self.assertEqual((err.code, err.status, err.details), (code, status, {"field": "source"}))


class PrefetchAndPrepareTest(StubTestCase):
    def test_prefetch_passes_items_with_sources_through(self):
        created = {"batchId": "b", "jobs": [
            {"kind": "lora", "name": "detail", "status": "linked", "verified": True},
            {"kind": "lora", "name": "civitai:999", "status": "failed",
             "error": {"code": "SOURCE_NOT_FOUND", "message": "no version 999"}}]}
        self.api.reply("POST /v1/batches", 202, created)
        items = [{"kind": "lora", "source": "civitai:135867"}, {"kind": "lora", "source": "civitai:999"}]
        self.assertEqual(self.client.prefetch(items), created)
        self.assertEqual(self.api.bodies(), [{"items": items}])

    def test_slices_leave_out_a_reference_refused_by_the_host_and_list_a_repeated_failure_once(self):
        request = {"checkpoint": {"source": "hf:org/base/base.safetensors"},
                   "loras": [{"source": "civitai:999", "scale": 0.5}, {"source": "civitai:2", "scale": 0.8}]}
        timeout = {"kind": "checkpoint", "name": "base", "error": {"code": "WAIT_TIMEOUT", "message": "goes on"}}
        not_found = {"kind": "lora", "name": "civitai:999", "error": {"code": "SOURCE_NOT_FOUND", "message": "no"}}
        # Failed after the host named it: not to be matched to a request without a name.
        mismatch = {"kind": "lora", "name": "detail", "error": {"code": "HASH_MISMATCH", "message": "differs"}}
        answers = [{"checkpointPath": None, "loras": [], "failed": [timeout, not_found, mismatch], "leaseId": "L1"},
                   {"checkpointPath": "/m/c/base.safetensors", "loras": [], "failed": [mismatch], "leaseId": "L2"}]
        asked = []

        def ask(pending, hold):
            asked.append(pending)
            return answers[len(asked) - 1]

        result = prepare_in_slices(ask, lambda lease: None, request, 1000, 290)
        self.assertEqual(asked[1]["loras"], [{"source": "civitai:2", "scale": 0.8}])
        self.assertEqual(result["failed"], [not_found, mismatch])
        self.assertEqual(without_failed(request, [not_found])["checkpoint"], request["checkpoint"])


class DropInTest(StubTestCase):
    def test_items_with_a_source_and_no_name_are_prepared_and_matched_back_by_scale(self):
        self.api.reply("POST /v1/prepare", 200, {
            "checkpointPath": "/m/checkpoints/base.safetensors",
            "loras": [{"name": "detail", "path": "/m/loras/detail.safetensors", "scale": 0.8},
                      {"name": "Named", "path": "/m/loras/Named.safetensors", "scale": 1}],
            "embeddings": [], "prompt": "",
            "failed": [{"kind": "lora", "name": "civitai:999", "error": {"code": "SOURCE_NOT_FOUND", "message": "no"}}],
            "downloaded": [{"kind": "lora", "name": "detail"}], "leaseId": "L"})
        manager = ModelManager(self.client)
        with self.assertLogs("model_manager_client", "ERROR") as logs:
            checkpoint, lora_paths, downloaded = manager.prepare_models_for_request(
                {"source": "hf:org/base/base.safetensors", "hash": "b" * 64},
                [{"source": "civitai:999", "scale": 0.5}, {"source": "civitai:135867", "scale": "0.8"},
                 {"name": "Named", "url": "https://h/named.safetensors"},
                 {"name": "Both", "url": "https://h/b", "source": "civitai:3"}, {"scale": 1}])
        self.assertEqual(checkpoint, "/m/checkpoints/base.safetensors")
        self.assertEqual(lora_paths, [("/m/loras/detail.safetensors", "0.8"), ("/m/loras/Named.safetensors", 1.0)])
        self.assertTrue(downloaded)
        body = self.api.bodies("POST /v1/prepare")[0]
        self.assertEqual(body["checkpoint"], {"source": "hf:org/base/base.safetensors", "sha256": "b" * 64})
        self.assertEqual([lora.get("name") or lora.get("source") for lora in body["loras"]],
                         ["civitai:999", "civitai:135867", "Named"])
        output = "\n".join(logs.output)
        self.assertIn("loras[3] left out: both a url and a source", output)
        self.assertIn("loras[4] left out: no name or url", output)
        self.assertIn("'civitai:999' left out: SOURCE_NOT_FOUND", output)


if __name__ == "__main__":
    unittest.main()
