"""POST /v1/prepare for as long as the caller waits, and its answer with the lease it holds."""

import logging
import math
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from .errors import ModelManagerError

if TYPE_CHECKING:
    from .client import ModelManagerClient

log = logging.getLogger("model_manager_client")

_REF_FIELDS = (("checkpoint", "checkpoint"), ("lora", "loras"), ("embedding", "embeddings"))


def _is_timeout(failure: Dict[str, Any]) -> bool:
    return (failure.get("error") or {}).get("code") == "WAIT_TIMEOUT"


def names_of(ref: Dict[str, Any]) -> List[str]:
    """The names a failure of this request may carry: its own name, else the reference or URL it was
    asked by (what the API reports for a model refused before its name was known). A model without a
    name that failed after the host named it cannot be told apart from the others: it is asked for
    again, and fails again."""
    if ref.get("name") is not None:
        return [ref["name"]]
    return [ref[key] for key in ("source", "url") if ref.get(key) is not None]


def without_failed(request: Dict[str, Any], failed: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The request without the models that failed for good, so asking again does not fetch them again."""
    gone = {(f["kind"], f["name"]) for f in failed}

    def keep(kind: str, ref: Dict[str, Any]) -> bool:
        return not any((kind, name) in gone for name in names_of(ref))

    pending = dict(request)
    for kind, field in _REF_FIELDS:
        if field not in request:
            continue
        if field == "checkpoint":
            if not keep(kind, request[field]):
                del pending[field]
        else:
            pending[field] = [ref for ref in request[field] if keep(kind, ref)]
    return pending


def all_failures(earlier: List[Dict[str, Any]], latest: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Earlier failures and the latest answer's, once each: a model asked for again may fail again."""
    again = {(f["kind"], f["name"]) for f in latest}
    return [f for f in earlier if (f["kind"], f["name"]) not in again] + list(latest)


def prepare_in_slices(ask: Callable[[Dict[str, Any], int], Dict[str, Any]], release: Callable[[str], None],
                      request: Dict[str, Any], wait_seconds: float, max_hold: int) -> Dict[str, Any]:
    """POST /v1/prepare for up to ``wait_seconds``, in requests holding at most ``max_hold`` each.

    Asking again is safe: models done by then are cache hits and running downloads are joined, not
    started twice. Each answer brings a new lease over what it returns; the previous one is released.
    ``downloaded`` gathers what every answer fetched (or linked to the same bytes under another
    name), since a model fetched during an earlier request is a cache hit in the next.
    """
    if wait_seconds < 0:
        raise ValueError(f"wait_seconds must be 0 or more; got {wait_seconds!r}")
    deadline = time.monotonic() + wait_seconds
    failed_for_good: List[Dict[str, Any]] = []
    downloaded: Dict[Tuple[str, str], Dict[str, Any]] = {}
    pending = request
    previous_lease: Optional[str] = None
    while True:
        remaining = max(0, math.ceil(deadline - time.monotonic()))
        hold = min(remaining, max_hold)
        answer = ask(pending, hold)
        if previous_lease and previous_lease != answer.get("leaseId"):
            _release_quietly(release, previous_lease)
        for item in answer.get("downloaded") or []:
            downloaded.setdefault((item["kind"], item["name"]), item)
        failed = answer.get("failed") or []
        if not any(_is_timeout(f) for f in failed) or hold >= remaining:
            return {**answer, "failed": all_failures(failed_for_good, failed), "downloaded": list(downloaded.values())}
        failed_for_good = all_failures(failed_for_good, [f for f in failed if not _is_timeout(f)])
        pending = without_failed(request, failed_for_good)
        previous_lease = answer.get("leaseId")


def _release_quietly(release: Callable[[str], None], lease_id: str) -> None:
    try:
        release(lease_id)
    except ModelManagerError as err:
        # It expires by itself; a failed release only keeps the models a little longer.
        log.warning("could not release lease %s: %s", lease_id, err)


class Prepared:
    """The answer of ``prepare()``: paths (as this process sees the volume), the prompt, what failed,
    what was downloaded, and the lease over the models. As a context manager it releases the lease
    on the way out, so no cleanup or eviction deletes the models while they are in use."""

    def __init__(self, client: "ModelManagerClient", answer: Dict[str, Any]) -> None:
        self._client = client
        self.answer = answer
        self.checkpoint_path: Optional[str] = client.local_path(answer.get("checkpointPath"))
        self.loras: List[Dict[str, Any]] = [{**l, "path": client.local_path(l["path"])} for l in answer.get("loras", [])]
        self.embeddings: List[Dict[str, Any]] = [{**e, "path": client.local_path(e["path"])} for e in answer.get("embeddings", [])]
        self.prompt: str = answer.get("prompt", "")
        self.failed: List[Dict[str, Any]] = answer.get("failed", [])
        #: The models fetched for this request ({"kind", "name"}), as opposed to those already cached.
        self.downloaded: List[Dict[str, Any]] = answer.get("downloaded", [])
        #: Models not checked against a SHA-256 known before their download ({"kind", "name", "reason"}).
        self.unverified: List[Dict[str, Any]] = answer.get("unverified", [])
        self.lease_id: Optional[str] = answer.get("leaseId")
        self.lease_expires_at: Optional[str] = answer.get("leaseExpiresAt")

    def __repr__(self) -> str:
        return (f"Prepared(checkpoint_path={self.checkpoint_path!r}, loras={len(self.loras)}, "
                f"failed={len(self.failed)}, downloaded={len(self.downloaded)}, lease_id={self.lease_id!r})")

    def renew(self, seconds: Optional[int] = None) -> Dict[str, Any]:
        """Extends the lease (by the API's LEASE_SECONDS when ``seconds`` is left out), for long jobs."""
        if not self.lease_id:
            raise ValueError("this answer carries no lease (an API from before leases)")
        view = self._client.renew_lease(self.lease_id, seconds)
        self.lease_expires_at = view.get("expiresAt")
        return view

    def release(self) -> None:
        """Lets the models go; releasing twice, or after the lease expired, is not an error."""
        if self.lease_id:
            self._client.release_lease(self.lease_id)

    def __enter__(self) -> "Prepared":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            self.release()
        elif self.lease_id:
            # Never hide the error that ended the block behind one from the release.
            _release_quietly(self._client.release_lease, self.lease_id)
