"""A small HTTP proxy in front of moto's EC2 server that answers a chosen number of calls of
one API action with a real fault: AWS's throttling or internal-error reply, or a connection
closed without a word. Everything else is passed through unchanged. It listens on
127.0.0.1 only and stops with its fixture."""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ERROR = ('<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
          "<Message>{message}</Message></Error></Errors><RequestID>drill</RequestID></Response>")
FAULTS = {
    "throttle": (503, "RequestLimitExceeded", "Request limit exceeded."),
    "internal": (500, "InternalError", "An internal error has occurred."),
}


class FaultyCloud:
    def __init__(self, upstream: str, action: str, fault: str, times: int) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.action, self.fault, self.left = action, fault, times
        self.seen: Counter[str] = Counter()  # every call by action, faulted or not
        self.faulted = 0
        self._lock = threading.Lock()
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return None

            def do_POST(self) -> None:  # EC2's query API is form-encoded POSTs
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = urllib.parse.parse_qs(body.decode()).get("Action", [""])[0]
                if cloud._take(action):
                    cloud._fail(self)
                else:
                    cloud._forward(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _take(self, action: str) -> bool:
        with self._lock:
            self.seen[action] += 1
            if action == self.action and self.left > 0:
                self.left -= 1
                self.faulted += 1
                return True
            return False

    def _fail(self, handler: BaseHTTPRequestHandler) -> None:
        if self.fault == "drop":  # the request never reaches the cloud; no answer at all
            handler.close_connection = True
            handler.connection.close()
            return
        status, code, message = FAULTS[self.fault]
        payload = _ERROR.format(code=code, message=message).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/xml")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        conn = http.client.HTTPConnection(self.upstream.hostname or "127.0.0.1",
                                          self.upstream.port, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        conn.request("POST", handler.path, body=body, headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        handler.send_response(reply.status)
        for key, value in reply.getheaders():
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        conn.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()
