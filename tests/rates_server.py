"""A stand-in exchange-rates service on loopback, answering like Frankfurter,
that counts the requests it gets and misbehaves on demand."""

import json
import threading
import time
import uuid
from enum import Enum
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback_service import LoopbackService

RATES = {"EUR": 0.9225, "GBP": 0.79, "JPY": 151.5}


class Behaviour(Enum):
    ANSWER = "answer"
    HANG = "hang"  # answers only after any reasonable timeout
    FAIL = "fail"  # HTTP 500
    GARBLE = "garble"  # not JSON
    NO_RATES = "no rates"  # JSON without rates


class RatesServer(LoopbackService):
    def __init__(self) -> None:
        self.rates: dict[str, float] = dict(RATES)
        self.behaviour = Behaviour.ANSWER
        self.delay = 0.0  # seconds before each answer
        self._bases: list[str] = []
        self._lock = threading.Lock()
        super().__init__()
        # A fresh path per server: a port the OS hands out again must not
        # find the rates another server gave still cached under its URL.
        self.url = f"http://127.0.0.1:{self.port}/{uuid.uuid4().hex}/latest"

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

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        status, answer = self._answer(parse_qs(urlsplit(path).query).get("from", ["EUR"])[0])
        return status, "application/json", answer
