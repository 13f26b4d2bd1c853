"""The drop-in ModelManager: the old module's calls and return shapes, served by the API."""

import os
import unittest

from support import FILES, drop_in, file_url, missing_url


class PrepareModelsForRequestTest(unittest.TestCase):
    def test_returns_the_old_shape_a_failed_lora_left_out_and_logged(self):
        loras = [
            {"name": "drop-in lora a", "url": file_url("drop-lora-a.safetensors"), "scale": 0.8},
            {"name": "drop-in lora gone", "url": missing_url("gone"), "scale": 0.5},
            {"name": "drop-in lora b", "url": file_url("drop-lora-b.safetensors"), "hash": FILES["drop-lora-b.safetensors"].upper()},
        ]
        checkpoint = {"name": "drop-in checkpoint", "url": file_url("drop-checkpoint.safetensors"), "hash": FILES["drop-checkpoint.safetensors"]}
        with self.assertLogs("model_manager_client", "ERROR") as logs:
            result = drop_in().prepare_models_for_request(checkpoint, loras)
        self.assertIsInstance(result, tuple)
        checkpoint_path, lora_paths, models_downloaded = result
        self.assertTrue(checkpoint_path.endswith("/checkpoints/drop-in checkpoint.safetensors"))
        self.assertEqual([(os.path.basename(p), s) for p, s in lora_paths],
                         [("drop-in lora a.safetensors", 0.8), ("drop-in lora b.safetensors", 1.0)])
        self.assertIsInstance(models_downloaded, bool)
        self.assertIn("'drop-in lora gone' left out: HTTP_ERROR", "\n".join(logs.output))

    def test_a_failed_checkpoint_gives_none_and_the_loras_still_come(self):
        with self.assertLogs("model_manager_client", "ERROR"):
            checkpoint_path, lora_paths, _ = drop_in().prepare_models_for_request(
                {"name": "drop-in checkpoint gone", "url": missing_url("checkpoint")},
                [{"name": "drop-in lora c", "url": file_url("drop-lora-c.safetensors")}])
        self.assertIsNone(checkpoint_path)
        self.assertEqual([(os.path.basename(p), s) for p, s in lora_paths], [("drop-in lora c.safetensors", 1.0)])

    def test_a_lora_the_api_refuses_is_left_out_and_the_rest_prepared(self):
        with self.assertLogs("model_manager_client", "ERROR") as logs:
            _, lora_paths, _ = drop_in().prepare_models_for_request(None, [
                {"name": "drop-in refused", "url": "ftp://example.com/x.safetensors"},
                {"name": "drop-in lora d", "url": file_url("drop-lora-d.safetensors")}])
        self.assertEqual([os.path.basename(p) for p, _ in lora_paths], ["drop-in lora d.safetensors"])
        self.assertRegex("\n".join(logs.output), r"'drop-in refused' left out: INVALID_REQUEST: loras\.0\.url")

    def test_nothing_asked_gives_nothing(self):
        self.assertEqual(drop_in().prepare_models_for_request(None, []), (None, [], False))


class GetOrDownloadTest(unittest.TestCase):
    def test_each_kind_gives_its_path_then_the_same_path_from_the_cache(self):
        manager = drop_in()
        for call, name, folder in [(manager.get_or_download_checkpoint, "drop-single-checkpoint.safetensors", "checkpoints"),
                                   (manager.get_or_download_lora, "drop-single-lora.safetensors", "loras"),
                                   (manager.get_or_download_embedding, "drop-single-embedding.safetensors", "embeddings")]:
            with self.subTest(folder=folder):
                path = call(f"single {folder}", file_url(name), FILES[name])
                self.assertEqual(path, os.path.join(os.path.dirname(os.path.dirname(path)), folder, f"single {folder}.safetensors"))
                self.assertTrue(os.path.isfile(path))
                self.assertEqual(call(f"single {folder}", file_url(name)), path)

    def test_a_wrong_hash_gives_none_and_logs_why(self):
        with self.assertLogs("model_manager_client", "ERROR") as logs:
            path = drop_in().get_or_download_lora("drop-in wrong hash", file_url("drop-wrong.safetensors"), "0" * 64)
        self.assertIsNone(path)
        self.assertIn("HASH_MISMATCH", "\n".join(logs.output))


class StatsAndCleanupTest(unittest.TestCase):
    def test_get_cache_stats_has_the_old_keys(self):
        stats = drop_in().get_cache_stats()
        self.assertEqual(set(stats), {"checkpoints", "loras", "embeddings", "disk_usage"})
        for kind in ("checkpoints", "loras", "embeddings"):
            self.assertEqual(set(stats[kind]), {"count", "total_size"})
            self.assertIsInstance(stats[kind]["count"], int)
        self.assertEqual(set(stats["disk_usage"]), {"total", "used", "free"})
        self.assertLessEqual(stats["disk_usage"]["used"], stats["disk_usage"]["total"])

    def test_cleanup_old_models_keeps_what_was_used_lately(self):
        report = drop_in().cleanup_old_models(max_age_days=30, keep_popular=10)
        self.assertEqual(report["removed"], [])


if __name__ == "__main__":
    unittest.main()
