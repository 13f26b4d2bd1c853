"""``ModelManager``: the old ``model_manager`` module's calls and return shapes, served by the API."""

import logging
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .client import DEFAULT_PREPARE_WAIT_SECONDS, MAX_HOLD_SECONDS, ModelManagerClient
from .errors import InvalidRequestError, ModelManagerError
from .prompt import Scale, build_lora_prompt, format_scale

log = logging.getLogger("model_manager_client")

LoraPaths = List[Tuple[str, Scale]]


class ConfigurationError(ValueError):
    """The environment does not say where the API is, or says it in a form that cannot be read."""


def client_from_env(environ: Optional[Dict[str, str]] = None) -> ModelManagerClient:
    """A client configured by MODEL_MANAGER_URL, MODEL_MANAGER_TOKEN and, optionally,
    MODEL_MANAGER_PATH_MAP (``api_dir=local_dir``) and MODEL_MANAGER_HOLD_SECONDS (the longest one
    request waits on the API; 90 behind a proxy that cuts requests after 100 s)."""
    env = os.environ if environ is None else environ
    url = env.get("MODEL_MANAGER_URL", "").strip()
    if not url:
        raise ConfigurationError("MODEL_MANAGER_URL is not set: set it to the Model Manager API's address, "
                                 "e.g. http://127.0.0.1:3000 (and MODEL_MANAGER_TOKEN when the API has API_TOKEN set)")
    path_map = None
    if env.get("MODEL_MANAGER_PATH_MAP"):
        api_dir, sep, local_dir = env["MODEL_MANAGER_PATH_MAP"].partition("=")
        if not sep or not api_dir.startswith("/") or not local_dir.startswith("/"):
            raise ConfigurationError("MODEL_MANAGER_PATH_MAP must be API_DIR=LOCAL_DIR, two absolute paths, "
                                     "e.g. /workspace/models=/runpod-volume/models")
        path_map = (api_dir, local_dir)
    hold = env.get("MODEL_MANAGER_HOLD_SECONDS", "").strip()
    if hold and not (hold.isdigit() and 1 <= int(hold) <= 3600):
        raise ConfigurationError(f"MODEL_MANAGER_HOLD_SECONDS must be a whole number of seconds from 1 to 3600; got {hold!r}")
    try:
        return ModelManagerClient(url, env.get("MODEL_MANAGER_TOKEN") or None, path_map=path_map,
                                  max_hold_seconds=int(hold) if hold else MAX_HOLD_SECONDS)
    except ValueError as err:
        raise ConfigurationError(f"MODEL_MANAGER_URL: {err}") from None


class ModelManager:
    """Drop-in for the old module's ``ModelManager``: the same calls and return shapes.

    As before, a model that cannot be had is logged and left out (``None`` for a checkpoint), so a
    handler goes on with what it got. Each ``prepare_models_for_request`` leases its models for the
    API's LEASE_SECONDS (15 minutes by default), which covers a generation; new code that wants to
    release them earlier uses ``client.prepare()`` as a context manager.
    """

    def __init__(self, client: Optional[ModelManagerClient] = None, *,
                 wait_seconds: float = DEFAULT_PREPARE_WAIT_SECONDS) -> None:
        self.client = client if client is not None else client_from_env()
        self.wait_seconds = wait_seconds

    def __repr__(self) -> str:
        return f"ModelManager({self.client!r})"

    def prepare_models_for_request(self, checkpoint_info: Optional[Dict[str, Any]] = None,
                                   loras: Optional[Sequence[Dict[str, Any]]] = None
                                   ) -> Tuple[Optional[str], LoraPaths, bool]:
        """(checkpoint path or None, [(lora path, scale), ...], whether anything was downloaded)."""
        checkpoint = _old_ref(checkpoint_info, "checkpoint_info") if checkpoint_info else None
        wanted: List[Tuple[Dict[str, Any], Scale]] = []
        for i, lora in enumerate(loras or []):
            ref = _old_ref(lora, f"loras[{i}]")
            if ref is not None:
                scale = lora.get("scale", 1.0)
                try:
                    format_scale(scale)
                except ValueError as err:
                    log.error("lora %r left out: %s", _label(ref), err)
                    continue
                wanted.append(({**ref, "scale": float(scale)}, scale))
        try:
            checkpoint, wanted, prepared = self._prepare(checkpoint, wanted)
        except ModelManagerError as err:
            log.error("preparing models failed: %s", err)
            return None, [], False
        if prepared is None:
            return None, [], False
        for failure in prepared.failed:
            error = failure.get("error") or {}
            log.error("%s %r left out: %s: %s", failure.get("kind"), failure.get("name"), error.get("code"), error.get("message"))
        return prepared.checkpoint_path, _lora_paths(wanted, prepared.loras), bool(prepared.downloaded)

    def build_lora_prompt(self, base_prompt: str, lora_paths: LoraPaths) -> str:
        return build_lora_prompt(base_prompt, lora_paths)

    def get_or_download_checkpoint(self, name: str, url: str, expected_hash: Optional[str] = None) -> Optional[str]:
        return self._get_or_download("checkpoint", name, url, expected_hash)

    def get_or_download_lora(self, name: str, url: str, expected_hash: Optional[str] = None) -> Optional[str]:
        return self._get_or_download("lora", name, url, expected_hash)

    def get_or_download_embedding(self, name: str, url: str, expected_hash: Optional[str] = None) -> Optional[str]:
        return self._get_or_download("embedding", name, url, expected_hash)

    def get_cache_stats(self) -> Dict[str, Any]:
        """The old keys: checkpoints/loras/embeddings -> count, total_size; disk_usage -> total, used, free."""
        stats = self.client.stats()
        sizes = {kind: {"count": stats[kind]["count"], "total_size": stats[kind]["totalSize"]}
                 for kind in ("checkpoints", "loras", "embeddings")}
        return {**sizes, "disk_usage": dict(stats["diskUsage"])}

    def cleanup_old_models(self, max_age_days: float = 30, keep_popular: int = 10) -> Dict[str, Any]:
        """The old rule (the ``keep_popular`` most used stay; of the rest, those unused for
        ``max_age_days`` go), run by the service, which never removes a pinned, leased or downloading
        model. Returns its report (``removed``, ``freedBytes``)."""
        return self.client.cleanup(max_age_days, keep_popular)

    # ---------- plumbing ----------

    def _get_or_download(self, kind: str, name: str, url: str, expected_hash: Optional[str]) -> Optional[str]:
        try:
            answer = self.client.fetch(kind, name, url, sha256=expected_hash or None, wait_seconds=self.wait_seconds)
        except (ModelManagerError, ValueError) as err:
            log.error("%s %r not available: %s", kind, name, err)
            return None
        if "model" not in answer:
            log.error("%s %r not available: still %s after %g s (job %s goes on)", kind, name,
                      answer.get("status"), self.wait_seconds, answer.get("jobId"))
            return None
        return self.client.local_path(answer["model"]["path"])

    def _prepare(self, checkpoint: Optional[Dict[str, Any]], wanted: List[Tuple[Dict[str, Any], Scale]]):
        """Prepares the models; those the API refuses (a name or host it does not take) are logged and
        left out, and the rest asked for again, as the old module went on without a model it could not get."""
        for attempt in (1, 2):
            if checkpoint is None and not wanted:
                return checkpoint, wanted, None
            try:
                return checkpoint, wanted, self.client.prepare(checkpoint, [ref for ref, _ in wanted],
                                                               wait_seconds=self.wait_seconds)
            except InvalidRequestError as err:
                refused = _refused(err)
                if not refused or attempt == 2:
                    raise
                if "checkpoint" in refused:
                    log.error("checkpoint %r left out: %s", checkpoint and _label(checkpoint), refused["checkpoint"])
                    checkpoint = None
                for i, (ref, _) in enumerate(wanted):
                    if f"loras.{i}" in refused:
                        log.error("lora %r left out: %s", _label(ref), refused[f"loras.{i}"])
                wanted = [w for i, w in enumerate(wanted) if f"loras.{i}" not in refused]
        raise AssertionError("unreachable")

def _old_ref(info: Any, field: str) -> Optional[Dict[str, Any]]:
    """The old module's ``{"name", "url"[, "hash"]}`` as a ref, or ``{"source"[, "name"]}`` (a Hugging
    Face or Civitai reference, named after the host's file when no name is given); None (logged)
    when it names no file, or both a url and a source."""
    if not isinstance(info, dict):
        raise TypeError(f"{field} must be a dict with 'name' and 'url', or 'source'; got {type(info).__name__}")
    has = {key for key in ("name", "url", "source") if isinstance(info.get(key), str) and info[key]}
    if "url" in has and "source" in has:
        log.error("%s left out: both a url and a source (give one)", field)
        return None
    if "source" not in has and ("name" not in has or "url" not in has):
        missing = [key for key in ("name", "url") if key not in has]
        log.error("%s left out: no %s (it has %s)", field, " or ".join(missing), sorted(info))
        return None
    ref = {key: info[key] for key in ("name", "url", "source") if key in has}
    if info.get("hash"):
        ref["sha256"] = info["hash"]
    return ref


def _label(ref: Dict[str, Any]) -> str:
    """How a model is named in the log before the API has named it: its name, else its source."""
    return ref.get("name") or ref.get("source") or "?"


_REFUSED_FIELD = re.compile(r"^(checkpoint|loras\.\d+)(\.|$)")


def _refused(err: InvalidRequestError) -> Dict[str, str]:
    """The models a 400 names (``checkpoint``, ``loras.3``) with the reason, or {} when it names
    anything else (then the whole request is wrong, not one model)."""
    details = err.details if isinstance(err.details, list) else []
    refused: Dict[str, str] = {}
    for detail in details:
        match = _REFUSED_FIELD.match(str(detail.get("field", ""))) if isinstance(detail, dict) else None
        if not match:
            return {}
        refused.setdefault(match.group(1), f"{err.code}: {detail.get('field')}: {detail.get('message')}")
    return refused


def _lora_paths(wanted: List[Tuple[Dict[str, Any], Scale]], prepared: List[Dict[str, Any]]) -> LoraPaths:
    """(path, scale) in request order, with each scale as the caller gave it (the old return shape).

    The answer lists the LoRAs it has in request order. One asked for without a name is known by its
    scale: if that matches a LoRA that failed instead, the two give the same (path, scale)."""
    paths: LoraPaths = []
    answers = iter(prepared)
    current = next(answers, None)
    for ref, scale in wanted:
        if current is None:
            break
        same = current.get("name") == ref["name"] if "name" in ref else current.get("scale") == ref["scale"]
        if same:
            paths.append((current["path"], scale))
            current = next(answers, None)
    return paths


class LazyModelManager:
    """The module-level ``model_manager``: made from the environment on first use, so importing
    never fails and the environment may be set after the import."""

    def __init__(self) -> None:
        self._instance: Optional[ModelManager] = None

    def _get(self) -> ModelManager:
        if self._instance is None:
            self._instance = ModelManager()
        return self._instance

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._get(), name)

    def __repr__(self) -> str:
        return repr(self._instance) if self._instance is not None else "ModelManager(<from MODEL_MANAGER_URL on first use>)"
