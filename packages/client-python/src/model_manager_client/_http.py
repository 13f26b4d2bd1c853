"""JSON over HTTP with urllib: the token, timeouts, error answers as typed errors, and retries
while the service restarts."""

import http.client
import json
import logging
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Iterable, Optional, Tuple

from .errors import ModelManagerError, RequestTimeoutError, UnavailableError, error_from_answer

log = logging.getLogger("model_manager_client")

# Statuses worth asking again for while the service restarts: Redis or the API not ready yet.
_RETRIED_STATUSES = (503,)
_FIRST_PAUSE = 0.25
_LONGEST_PAUSE = 2.0


def display_url(url: str) -> str:
    """The URL without user info, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _is_connection_error(err: BaseException) -> bool:
    """No answer because nothing listens or the connection dropped: the service may be restarting."""
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    return isinstance(reason, (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine))


def _is_timeout(err: BaseException) -> bool:
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    return isinstance(reason, (socket.timeout, TimeoutError))


def _retry_after(headers: Any) -> Optional[float]:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class Transport:
    """Sends requests to one API. Every call the API offers is safe to send again, so requests that
    got no answer (connection refused or dropped) and 503 answers are retried until ``retry_seconds``
    have passed; a request that times out is not (it may still be running)."""

    def __init__(self, base_url: str, token: Optional[str], timeout: float, retry_seconds: float,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not isinstance(base_url, str) or not base_url.strip():
            raise ValueError("base_url must be the API's address, e.g. http://127.0.0.1:3000")
        parts = urllib.parse.urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http:// or https:// address, got {display_url(base_url)!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be more than 0 seconds, got {timeout!r}")
        if retry_seconds < 0:
            raise ValueError(f"retry_seconds must be 0 or more, got {retry_seconds!r}")
        self.base_url = base_url.strip().rstrip("/")
        # Name-mangled and never formatted: the token stays out of reprs, messages and logs.
        self.__token = token or None
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"Transport({display_url(self.base_url)!r}, token={'set' if self.__token else 'none'})"

    def request(self, method: str, path: str, body: Any = None, accept: Iterable[int] = (),
                timeout: Optional[float] = None) -> Tuple[int, Any]:
        """(status, parsed JSON or None). Error answers are raised unless their status is in ``accept``."""
        deadline = time.monotonic() + self.retry_seconds
        pause = _FIRST_PAUSE
        while True:
            try:
                return self._send(method, path, body, tuple(accept), timeout or self.timeout)
            except ModelManagerError as err:
                retried = err.status in _RETRIED_STATUSES or getattr(err, "_maybe_restarting", False)
                left = deadline - time.monotonic()
                if not retried or left <= 0:
                    raise
                log.warning("Model Manager API at %s: %s; asking again for up to %.0f s more",
                            display_url(self.base_url), err, left)
                self._sleep(min(pause, max(left, 0.0)))
                pause = min(pause * 2, _LONGEST_PAUSE)

    def _send(self, method: str, path: str, body: Any, accept: Tuple[int, ...], timeout: float) -> Tuple[int, Any]:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        if self.__token:
            headers["Authorization"] = f"Bearer {self.__token}"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        where = f"{method} {display_url(self.base_url)}{path.split('?')[0]}"
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, _parse(answer.read())
        except urllib.error.HTTPError as err:
            raw = err.read()
            parsed = _parse_or_none(raw)
            if err.code in accept:
                return err.code, parsed
            raise error_from_answer(err.code, parsed, raw.decode("utf-8", "replace"), _retry_after(err.headers)) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            if _is_timeout(err):
                raise RequestTimeoutError(f"{where}: no answer within {timeout:g} s", "REQUEST_TIMEOUT") from None
            reason = err.reason if isinstance(err, urllib.error.URLError) else err
            unreachable = UnavailableError(f"cannot reach the Model Manager API ({where}): {reason}", "UNREACHABLE")
            # Refused or dropped connections are retried; DNS or TLS failures are no restart.
            unreachable._maybe_restarting = _is_connection_error(err)  # type: ignore[attr-defined]
            raise unreachable from err


def _parse(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8")) if raw else None


def _parse_or_none(raw: bytes) -> Any:
    try:
        return _parse(raw)
    except ValueError:
        return None  # not JSON: a proxy's page
