"""A stub of the API on a loopback port, for the client's logic without a service: it answers each
``METHOD /path`` with the replies queued for it, in order, and records every request."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

Reply = Tuple[int, Any]


class StubApi:
    def __init__(self) -> None:
        self.replies: Dict[str, List[Reply]] = {}
        self.requests: List[Dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                stub.requests.append({"method": self.command, "path": self.path,
                                      "body": json.loads(raw) if raw else None})
                route = f"{self.command} {urllib.parse.urlsplit(self.path).path}"
                queued = stub.replies.get(route) or []
                status, body = queued.pop(0) if queued else (
                    404, {"error": {"code": "NOT_FOUND", "message": f"no route for {route}"}})
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:  # quiet test output
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll: shutdown() waits for it, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reply(self, route: str, status: int, body: Any) -> None:
        self.replies.setdefault(route, []).append((status, body))

    def bodies(self, route: Optional[str] = None) -> List[Any]:
        return [r["body"] for r in self.requests
                if route is None or f"{r['method']} {urllib.parse.urlsplit(r['path']).path}" == route]

    def __enter__(self) -> "StubApi":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
