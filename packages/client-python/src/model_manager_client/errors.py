"""Errors raised by the client: the API's error answers, by status, and the client's own."""

from typing import Any, Dict, List, Optional


class ModelManagerError(Exception):
    """Any error answer of the API (``{"error": {"code", "message", "details"?}}``), or no answer.

    ``code`` is the API's error code (``INVALID_REQUEST``, ``NOT_FOUND``, a job's ``HASH_MISMATCH``,
    ...); ``status`` the HTTP status, 0 when nothing answered.
    """

    def __init__(self, message: str, code: str, status: int = 0, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status}, message={self.message!r})"


class InvalidRequestError(ModelManagerError):
    """400 or 413: the request was refused; ``details`` names each field (``loras.2.name``)."""


class UnauthorizedError(ModelManagerError):
    """401 UNAUTHORIZED (no or a wrong token) or 403 READ_ONLY_TOKEN."""


class NotFoundError(ModelManagerError):
    """404: NOT_FOUND (job, batch, model or route), LEASE_NOT_FOUND, SOURCE_NOT_FOUND."""


class SourceNotFoundError(NotFoundError):
    """404 SOURCE_NOT_FOUND: Hugging Face or Civitai does not know the repository, file or version."""


class ConflictError(ModelManagerError):
    """409: CONFLICT (another source under the same name is being fetched), FETCH_IN_PROGRESS, HASH_CONFLICT."""


class HashConflictError(ConflictError):
    """409 HASH_CONFLICT: the sha256 given is not the one the host publishes (``details``: ``given``, ``host``)."""


class AuthRequiredError(ModelManagerError):
    """422 AUTH_REQUIRED: the host wants a token the service lacks (its HF_TOKEN or CIVITAI_TOKEN), not
    the caller's API token; the service's operator has to set it. (A download job that met a 401
    fails with the same code, as a ``JobFailedError``.)"""


class UnverifiedError(ModelManagerError):
    """422 UNVERIFIED: the service requires a SHA-256 known before the download and none is (give ``sha256``)."""


class RateLimitedError(ModelManagerError):
    """429 RATE_LIMITED; ``retry_after`` is the seconds the API asked to wait, when it said."""

    def __init__(self, message: str, code: str, status: int, details: Any = None, retry_after: Optional[float] = None) -> None:
        super().__init__(message, code, status, details)
        self.retry_after = retry_after


class UnavailableError(ModelManagerError):
    """502-504 (REDIS_UNAVAILABLE, NOT_READY) or no answer at all (UNREACHABLE, status 0): try later."""


class RequestTimeoutError(UnavailableError):
    """No answer within the request's timeout (code REQUEST_TIMEOUT, status 0)."""


class JobFailedError(ModelManagerError):
    """A download job failed: ``code`` is the job's error code (HASH_MISMATCH, HTTP_ERROR, ...)."""

    def __init__(self, job_id: str, error: Dict[str, Any], job: Optional[Dict[str, Any]] = None) -> None:
        code = str(error.get("code", "INTERNAL"))
        super().__init__(f"job {job_id} failed: {error.get('message', 'no reason given')}", code, 502, error)
        self.job_id = job_id
        self.error = error
        self.job = job

    @classmethod
    def from_job(cls, job: Dict[str, Any]) -> "JobFailedError":
        error = job.get("error") or {"code": "INTERNAL", "message": "the job failed without a reason"}
        return cls(str(job.get("jobId")), error, job)


class WaitTimeoutError(ModelManagerError):
    """``wait_for`` ran out of time (code WAIT_TIMEOUT); the jobs go on."""

    def __init__(self, job_ids: List[str], timeout: float) -> None:
        super().__init__(f"not finished within {timeout:g} s: {', '.join(job_ids)}", "WAIT_TIMEOUT", 0)
        self.job_ids = job_ids


def error_from_answer(status: int, body: Any, text: str, retry_after: Optional[float] = None) -> ModelManagerError:
    """The error for an error answer, by code or else by status; ``body`` is the parsed answer when it was JSON."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error["code"] if isinstance(error.get("code"), str) else f"HTTP_{status}"
    message = error["message"] if isinstance(error.get("message"), str) else f"HTTP {status}: {text[:200]}"
    details = error.get("details")
    # Refusals of a source reference have their own classes; a 422 would otherwise read as a bad request.
    if code in _BY_CODE:
        return _BY_CODE[code](message, code, status, details)
    if status == 429:
        return RateLimitedError(message, code, status, details, retry_after)
    cls = _BY_STATUS.get(status, ModelManagerError)
    return cls(message, code, status, details)


_BY_STATUS = {
    400: InvalidRequestError,
    413: InvalidRequestError,
    422: InvalidRequestError,
    401: UnauthorizedError,
    403: UnauthorizedError,
    404: NotFoundError,
    409: ConflictError,
    502: UnavailableError,
    503: UnavailableError,
    504: UnavailableError,
}

_BY_CODE = {
    "SOURCE_NOT_FOUND": SourceNotFoundError,
    "HASH_CONFLICT": HashConflictError,
    "AUTH_REQUIRED": AuthRequiredError,
    "UNVERIFIED": UnverifiedError,
}
