"""The Model Manager API as Python calls: fetch, prefetch, wait_for, prepare, and the rest."""

import math
import time
import urllib.parse
from typing import Any, Callable, Dict, List, Optional, Sequence, Union, overload

from ._http import Transport, display_url
from .errors import JobFailedError, NotFoundError, WaitTimeoutError
from .prepared import Prepared, prepare_in_slices

MODEL_KINDS = ("checkpoint", "lora", "embedding")

# The longest ?wait= one request asks for: proxies and HTTP stacks give up on an answer whose
# headers have not come within a few minutes, and the API sends none until it answers.
MAX_HOLD_SECONDS = 290
DEFAULT_PREPARE_WAIT_SECONDS = 600
# How much longer than its ?wait= a waiting request may take before it counts as timed out.
_ANSWER_MARGIN_SECONDS = 30
# How long one poll hangs on the API when progress is reported.
_PROGRESS_POLL_SECONDS = 2

JobView = Dict[str, Any]


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _model_path(kind: str, name: str) -> str:
    return f"/v1/models/{_quote(check_kind(kind))}/{_quote(check_name(name))}"


def check_kind(kind: Any) -> str:
    if kind not in MODEL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(MODEL_KINDS)}; got {kind!r}")
    return kind


def check_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{field} must be a non-empty string; got {name!r}")
    return name


def model_ref(kind: str, name: Optional[str] = None, url: Optional[str] = None, sha256: Optional[str] = None,
              mirrors: Optional[Sequence[str]] = None, *, source: Optional[str] = None) -> Dict[str, Any]:
    """A model request as the API takes it: a ``url`` or a ``source`` reference (one of them), and a
    ``name`` unless the host's file name (without its extension) will do. The API checks the name,
    URL, reference and hash and names what is wrong."""
    ref: Dict[str, Any] = {"kind": check_kind(kind)}
    if name is not None:
        ref["name"] = check_name(name)
    ref.update(url_or_source(url, source, f"{kind} {name!r}" if name is not None else kind))
    if sha256:
        ref["sha256"] = sha256
    if mirrors:
        ref["mirrors"] = list(mirrors)
    return ref


def url_or_source(url: Any, source: Any, what: str) -> Dict[str, str]:
    """``{"url": ...}`` or ``{"source": ...}``: exactly one of them, a non-empty string."""
    given = {key: value for key, value in (("url", url), ("source", source)) if value is not None}
    if len(given) != 1:
        # Which keys only: a URL may carry a download token.
        raise ValueError(f"{what} needs a url or a source (hf:..., civitai:..., urn:air:...), one of them; "
                         f"got {sorted(given) or 'neither'}")
    key, value = next(iter(given.items()))
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} of {what} must be a non-empty string; got {type(value).__name__}")
    return {key: value}


class ModelManagerClient:
    """One Model Manager API. Calls raise a ``ModelManagerError`` subclass on an error answer.

    ``timeout`` bounds each request that does not wait on the API (waiting ones get their wait on
    top); ``retry_seconds`` is how long requests that got no answer, or a 503, are sent again (the
    service restarting); ``path_map=(api_dir, local_dir)`` rewrites the paths the API answers with
    when this process sees the volume elsewhere (``/workspace/models`` on a pod,
    ``/runpod-volume/models`` on a serverless worker).
    """

    def __init__(self, base_url: str, token: Optional[str] = None, *, timeout: float = 30.0,
                 retry_seconds: float = 60.0, max_hold_seconds: int = MAX_HOLD_SECONDS,
                 path_map: Optional[Sequence[str]] = None) -> None:
        if not 1 <= max_hold_seconds <= 3600:
            raise ValueError(f"max_hold_seconds must be 1 to 3600; got {max_hold_seconds!r}")
        if path_map is not None and (len(path_map) != 2 or not all(isinstance(p, str) and p for p in path_map)):
            raise ValueError(f"path_map must be (api_dir, local_dir); got {path_map!r}")
        self._http = Transport(base_url, token, timeout, retry_seconds)
        self.max_hold_seconds = max_hold_seconds
        self.path_map = (path_map[0].rstrip("/"), path_map[1].rstrip("/")) if path_map else None

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def __repr__(self) -> str:
        return f"ModelManagerClient({display_url(self.base_url)!r})"

    def local_path(self, path: Optional[str]) -> Optional[str]:
        """A path the API answered with, as this process sees the volume (see ``path_map``)."""
        if path is None or self.path_map is None:
            return path
        api_dir, local_dir = self.path_map
        return local_dir + path[len(api_dir):] if path.startswith(api_dir + "/") else path

    # ---------- fetching models ----------

    def prepare(self, checkpoint: Optional[Dict[str, Any]] = None, loras: Optional[Sequence[Dict[str, Any]]] = None,
                embeddings: Optional[Sequence[Dict[str, Any]]] = None, prompt: Optional[str] = None, *,
                wait_seconds: float = DEFAULT_PREPARE_WAIT_SECONDS) -> Prepared:
        """Everything one generation needs, fetched in parallel, waiting up to ``wait_seconds``.

        Refs are dicts ``{"url" or "source"[, "name"][, "sha256"][, "mirrors"]}`` (LoRAs also
        ``"scale"``); without a name a model is named after the host's file name. What
        failed or did not finish is in ``failed``. The answer holds a lease over its models: use it
        as a context manager (``with client.prepare(...) as prepared:``) to release it when done.
        """
        request: Dict[str, Any] = {}
        if checkpoint is not None:
            request["checkpoint"] = _prepare_ref(checkpoint, "checkpoint")
        if loras:
            request["loras"] = [_prepare_ref(lora, f"loras[{i}]") for i, lora in enumerate(loras)]
        if embeddings:
            request["embeddings"] = [_prepare_ref(e, f"embeddings[{i}]") for i, e in enumerate(embeddings)]
        if prompt is not None:
            request["prompt"] = prompt

        def ask(pending: Dict[str, Any], hold: int) -> Dict[str, Any]:
            return self._http.request("POST", f"/v1/prepare?wait={hold}", pending,
                                      timeout=hold + _ANSWER_MARGIN_SECONDS)[1]

        answer = prepare_in_slices(ask, self.release_lease, request, wait_seconds, self.max_hold_seconds)
        return Prepared(self, answer)

    def fetch(self, kind: str, name: Optional[str] = None, url: Optional[str] = None, *,
              source: Optional[str] = None, sha256: Optional[str] = None,
              mirrors: Optional[Sequence[str]] = None, wait_seconds: Optional[float] = None,
              lease: bool = False) -> Dict[str, Any]:
        """One model, by ``url`` or by ``source`` (``fetch("lora", source="civitai:135867")``; the
        name then defaults to the host's file name): ``{"status": "cached"|"linked"|"completed",
        "model", "verified", ...}``, or still ``queued``/``active`` with a ``jobId`` (follow it with
        ``wait_for``). ``linked``: the same bytes were on the volume under another name and were
        placed under this one at once. ``verified`` is False (with ``unverifiedReason``) when no
        SHA-256 was known before the download. A job that failed within ``wait_seconds`` is raised
        as a ``JobFailedError``; a reference the service cannot resolve as a
        ``SourceNotFoundError``, ``AuthRequiredError``, ``HashConflictError`` or ``UnverifiedError``."""
        body = model_ref(kind, name, url, sha256, mirrors, source=source)
        if lease:
            body["lease"] = True
        deadline = time.monotonic() + (wait_seconds or 0)
        hold = None if wait_seconds is None else int(min(math.ceil(wait_seconds), self.max_hold_seconds))
        query = "" if hold is None else f"?wait={hold}"
        _, answer = self._http.request("POST", f"/v1/fetch{query}", body, accept=(502,),
                                       timeout=self._http.timeout + (hold or 0))
        if answer.get("status") == "failed":
            raise JobFailedError(str(answer.get("jobId")), answer.get("error") or {})
        remaining = deadline - time.monotonic()
        # Cached, linked and completed are done; so is a wait with no time left.
        if answer.get("status") not in ("queued", "active") or remaining < 1:
            return answer
        # A wait longer than one request may hold: the rest on the job.
        job = self.job(answer["jobId"], wait_seconds=math.floor(remaining))
        kept = {k: answer[k] for k in ("verified", "unverifiedReason", "leaseId", "leaseExpiresAt") if k in answer}
        if job["status"] == "failed":
            raise JobFailedError.from_job(job)
        if job["status"] == "completed" and job.get("model"):
            return {"status": "completed", "jobId": job["jobId"], "model": job["model"], **kept}
        return {"status": job["status"], "jobId": job["jobId"], **kept}

    def prefetch(self, items: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
        """Queues many models at once (``[{"kind", "url" or "source"[, "name"][, "sha256"]}, ...]``, sent
        as given): ``{"batchId", "jobs"}``. Follow it with ``wait_for_batch``. An item the service
        cannot resolve comes back ``failed`` with its error, named by its ``name``, else its source."""
        if not isinstance(items, (list, tuple)) or not items:
            raise ValueError(f"items must be a non-empty list of model refs; got {items!r}")
        return self._http.request("POST", "/v1/batches", {"items": list(items)})[1]

    @overload
    def wait_for(self, job_ids: str, timeout: Optional[float] = ..., on_progress: Optional[Callable[[JobView], None]] = ...) -> JobView: ...
    @overload
    def wait_for(self, job_ids: Sequence[str], timeout: Optional[float] = ..., on_progress: Optional[Callable[[JobView], None]] = ...) -> List[JobView]: ...

    def wait_for(self, job_ids: Union[str, Sequence[str]], timeout: Optional[float] = None,
                 on_progress: Optional[Callable[[JobView], None]] = None) -> Union[JobView, List[JobView]]:
        """Waits for jobs to finish. One id: the completed job, or a ``JobFailedError``. Several: every
        job's final view, failed ones included, in the order given. ``timeout`` (seconds) raises a
        ``WaitTimeoutError`` (the jobs go on); ``on_progress`` gets each running job's view about
        every two seconds."""
        ids = [job_ids] if isinstance(job_ids, str) else list(job_ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        views = [self._follow(f"/v1/jobs/{_quote(i)}", _job_finished, deadline, on_progress, ids, timeout) for i in ids]
        if not isinstance(job_ids, str):
            return views
        if views[0]["status"] == "failed":
            raise JobFailedError.from_job(views[0])
        return views[0]

    def wait_for_batch(self, batch_id: str, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Waits until every job of a batch has finished: the final batch view (failed items included)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._follow(f"/v1/batches/{_quote(batch_id)}", lambda b: bool(b.get("done")), deadline, None,
                            [batch_id], timeout)

    # ---------- looking ----------

    def job(self, job_id: str, *, wait_seconds: Optional[float] = None) -> JobView:
        """A job; with ``wait_seconds``, once it has finished or the time is up."""
        deadline = time.monotonic() + (wait_seconds or 0)
        path = f"/v1/jobs/{_quote(check_name(job_id, 'job_id'))}"
        while True:
            left = max(0, math.ceil(deadline - time.monotonic()))
            view = self._get_waiting(path, None if wait_seconds is None else min(left, self.max_hold_seconds))
            if wait_seconds is None or left <= self.max_hold_seconds or _job_finished(view):
                return view

    def batch(self, batch_id: str) -> Dict[str, Any]:
        return self._http.request("GET", f"/v1/batches/{_quote(check_name(batch_id, 'batch_id'))}")[1]

    def models(self, kind: Optional[str] = None) -> List[Dict[str, Any]]:
        query = "" if kind is None else f"?kind={_quote(check_kind(kind))}"
        return self._http.request("GET", f"/v1/models{query}")[1]["models"]

    def model(self, kind: str, name: str) -> Dict[str, Any]:
        return self._http.request("GET", _model_path(kind, name))[1]

    def stats(self) -> Dict[str, Any]:
        return self._http.request("GET", "/v1/stats")[1]

    # ---------- looking after the volume ----------

    def delete_model(self, kind: str, name: str) -> None:
        self._http.request("DELETE", _model_path(kind, name))

    def cleanup(self, max_age_days: float = 30, keep_popular: int = 10, *, dry_run: bool = False,
                quota: bool = False) -> Dict[str, Any]:
        """The old module's age rule (keeping the ``keep_popular`` most used), and with ``quota``
        quota eviction too. Pinned, leased and downloading models are never removed."""
        body: Dict[str, Any] = {"maxAgeDays": max_age_days, "keepPopular": keep_popular, "dryRun": dry_run}
        if quota:
            body["quota"] = True
        return self._http.request("POST", "/v1/cleanup", body)[1]

    def pin(self, kind: str, name: str) -> Dict[str, Any]:
        return self._http.request("POST", _model_path(kind, name) + "/pin")[1]

    def unpin(self, kind: str, name: str) -> Dict[str, Any]:
        return self._http.request("DELETE", _model_path(kind, name) + "/pin")[1]

    def verify(self, kind: Optional[str] = None, name: Optional[str] = None, *, refetch: bool = False) -> Dict[str, Any]:
        """Queues a re-hash: ``{"jobId"}``; ``wait_for(jobId)["result"]`` is its report."""
        body: Dict[str, Any] = {"refetch": refetch}
        if kind is not None:
            body["kind"] = check_kind(kind)
        if name is not None:
            body["name"] = check_name(name)
        return self._http.request("POST", "/v1/verify", body)[1]

    def scan(self) -> Dict[str, Any]:
        """Queues a reconciliation of registry and folders: ``{"jobId"}``."""
        return self._http.request("POST", "/v1/scan", {})[1]

    # ---------- leases ----------

    def renew_lease(self, lease_id: str, seconds: Optional[int] = None) -> Dict[str, Any]:
        body = {} if seconds is None else {"seconds": seconds}
        return self._http.request("POST", f"/v1/leases/{_quote(check_name(lease_id, 'lease_id'))}", body)[1]

    def release_lease(self, lease_id: str) -> None:
        """Lets the models go. A lease that has already expired is not an error."""
        try:
            self._http.request("DELETE", f"/v1/leases/{_quote(check_name(lease_id, 'lease_id'))}")
        except NotFoundError as err:
            if err.code != "LEASE_NOT_FOUND":
                raise

    # ---------- plumbing ----------

    def _get_waiting(self, path: str, hold: Optional[int]) -> Dict[str, Any]:
        query = "" if hold is None else f"?wait={hold}"
        return self._http.request("GET", path + query, timeout=self._http.timeout + (hold or 0))[1]

    def _follow(self, path: str, finished: Callable[[Dict[str, Any]], bool], deadline: Optional[float],
                on_progress: Optional[Callable[[JobView], None]], ids: List[str], timeout: Optional[float]) -> Dict[str, Any]:
        """Asks with ?wait= until ``finished``; polls every two seconds when progress is reported."""
        while True:
            hold = _PROGRESS_POLL_SECONDS if on_progress else self.max_hold_seconds
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeoutError(ids, timeout or 0)
                hold = min(hold, max(1, math.ceil(left)))
            view = self._get_waiting(path, hold)
            if finished(view):
                return view
            if on_progress and view.get("status") == "active":
                on_progress(view)


def _job_finished(job: Dict[str, Any]) -> bool:
    return job.get("status") in ("completed", "failed")


def _prepare_ref(ref: Any, field: str) -> Dict[str, Any]:
    if not isinstance(ref, dict):
        raise ValueError(f"{field} must be a dict with a url or a source; got {type(ref).__name__}")
    # None stands for "not given", which the API says by leaving the field out.
    given = {key: value for key, value in ref.items() if value is not None}
    if "name" in given:
        check_name(given["name"], f"{field}['name']")
    url_or_source(given.get("url"), given.get("source"), field)
    return given
