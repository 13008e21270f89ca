"""A stand-in exchange-rates service on loopback, answering like Frankfurter,
that counts the requests it gets and misbehaves on demand."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

RATES = {"EUR": 0.9225, "GBP": 0.79, "JPY": 151.5}


class Behaviour(Enum):
    ANSWER = "answer"
    HANG = "hang"  # answers only after any reasonable timeout
    FAIL = "fail"  # HTTP 500
    GARBLE = "garble"  # not JSON
    NO_RATES = "no rates"  # JSON without rates


class RatesServer:
    def __init__(self) -> None:
        self.rates: dict[str, float] = dict(RATES)
        self.behaviour = Behaviour.ANSWER
        self.delay = 0.0  # seconds before each answer
        self._bases: list[str] = []
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        # A fresh path per server: a port the OS hands out again must not
        # find the rates another server gave still cached under its URL.
        self.url = f"http://127.0.0.1:{self._http.server_port}/{uuid.uuid4().hex}/latest"

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self._bases)

    @property
    def bases(self) -> list[str]:
        with self._lock:
            return list(self._bases)

    def _answer(self, base: str) -> tuple[int, bytes]:
        with self._lock:
            self._bases.append(base)
        time.sleep(self.delay)
        if self.behaviour is Behaviour.HANG:
            time.sleep(10)
        if self.behaviour is Behaviour.FAIL:
            return 500, b'{"message": "internal error"}'
        if self.behaviour is Behaviour.GARBLE:
            return 200, b'{"base": "USD", "rates": {"EUR": 0.9'
        body: dict[str, Any] = {"amount": 1.0, "base": base, "date": "2026-11-25"}
        if self.behaviour is not Behaviour.NO_RATES:
            body["rates"] = self.rates
        return 200, json.dumps(body).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                status, body = server._answer(query.get("from", ["EUR"])[0])
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator["RatesServer"]:
        thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._http.shutdown()
            self._http.server_close()
