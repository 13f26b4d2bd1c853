"""A RunPod serverless handler on the Model Manager service.

Set MODEL_MANAGER_URL and MODEL_MANAGER_TOKEN (and MODEL_MANAGER_PATH_MAP when this worker sees the
volume at another path than the service, e.g. /workspace/models=/runpod-volume/models).
"""

import runpod

from model_manager_client import model_manager  # was: from model_manager import model_manager


def generate(checkpoint_path, prompt, negative_prompt):
    """Your WebUI / ComfyUI call."""
    raise NotImplementedError


def handler(job):
    job_input = job["input"]
    checkpoint_path, lora_paths, models_downloaded = model_manager.prepare_models_for_request(
        job_input.get("checkpoint"), job_input.get("loras", []))
    if checkpoint_path is None:
        return {"error": "checkpoint not available"}
    if models_downloaded:
        # As before: a freshly downloaded model is on the volume; refresh the WebUI's model list here.
        pass
    prompt = model_manager.build_lora_prompt(job_input["prompt"], lora_paths)
    images = generate(checkpoint_path, prompt, job_input.get("negative_prompt", ""))
    return {"images": images, "prompt": prompt}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
