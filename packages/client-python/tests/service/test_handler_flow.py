"""A RunPod handler's flow as the old module's users wrote it, with one import line changed."""

import json
import os
import unittest

from support import FIXTURES, client, file_url

from model_manager_client import NotFoundError

from model_manager_client import model_manager  # was: from model_manager import model_manager


def example_input():
    """The old module's example request, its URLs pointed at the loopback origin."""
    request = json.loads((FIXTURES / "old-module-example-request.json").read_text("utf-8"))["input"]
    request["checkpoint"]["url"] = file_url("flow-checkpoint.safetensors")
    for i, lora in enumerate(request["loras"]):
        lora["url"] = file_url(f"flow-lora-{i}.safetensors")
    return request


def handler(job):
    """What a handler does per request (the WebUI call left out)."""
    job_input = job["input"]
    checkpoint_path, lora_paths, models_downloaded = model_manager.prepare_models_for_request(
        job_input.get("checkpoint"), job_input.get("loras", []))
    if checkpoint_path is None:
        return {"error": "checkpoint not available"}
    prompt = model_manager.build_lora_prompt(job_input["prompt"], lora_paths)
    return {"checkpoint": checkpoint_path, "loras": lora_paths, "prompt": prompt,
            "models_downloaded": models_downloaded, "stats": model_manager.get_cache_stats()}


class HandlerFlowTest(unittest.TestCase):
    def setUp(self):
        # Each test starts from a volume without these models, whatever ran before it.
        request = example_input()
        for kind, ref in [("checkpoint", request["checkpoint"])] + [("lora", lora) for lora in request["loras"]]:
            try:
                client().delete_model(kind, ref["name"])
            except NotFoundError:
                pass

    def test_the_example_request_gives_its_paths_the_old_prompt_and_the_stats(self):
        request = example_input()
        expected_prompt = (FIXTURES / "old-module-example-prompt.txt").read_text("utf-8")

        first = handler({"input": request})
        self.assertEqual(first["prompt"], expected_prompt)
        self.assertTrue(first["checkpoint"].endswith("/checkpoints/Juggernaut XL v9.safetensors"), first["checkpoint"])
        self.assertTrue(os.path.isfile(first["checkpoint"]))
        self.assertEqual([scale for _, scale in first["loras"]], [lora["scale"] for lora in request["loras"]])
        for (path, _), lora in zip(first["loras"], request["loras"]):
            self.assertEqual(os.path.basename(path), f"{lora['name']}.safetensors")
            self.assertTrue(os.path.isfile(path), path)
        self.assertIs(first["models_downloaded"], True)
        self.assertGreaterEqual(first["stats"]["loras"]["count"], 9)
        self.assertGreater(first["stats"]["loras"]["total_size"], 0)
        self.assertGreater(first["stats"]["disk_usage"]["total"], 0)

        # The same request again: everything is cached, nothing is downloaded, the prompt is the same.
        second = handler({"input": request})
        self.assertEqual((second["checkpoint"], second["loras"], second["prompt"]), (first["checkpoint"], first["loras"], expected_prompt))
        self.assertIs(second["models_downloaded"], False)

    def test_the_services_own_prompt_is_the_old_modules_too(self):
        request = example_input()
        with client().prepare(request["checkpoint"], request["loras"], prompt=request["prompt"]) as prepared:
            self.assertEqual(prepared.failed, [])
            self.assertEqual(prepared.prompt, (FIXTURES / "old-module-example-prompt.txt").read_text("utf-8"))


if __name__ == "__main__":
    unittest.main()
