"""Exchange rates from an HTTP service that answers like Frankfurter:
``GET {EXCHANGE_RATES_URL}?from=USD`` → ``{"base": "USD", "rates": {"EUR": 0.92, …}}``.

Three layers keep the service's load independent of the traffic:

- ``RatesLoader``, one per GraphQL execution (an HTTP request, a stream
  batch), asks for the rates at most once, however many products need them,
  and remembers a failure as well as a success;
- ``rates_cache``, one per process, keeps an answer ``EXCHANGE_RATES_TTL``
  seconds; failures are not kept, so a service that recovers is used at once;
- while a fetch is in flight, every request that needs the same rates waits
  for that fetch instead of starting its own.
"""

import asyncio
import json
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import httpx
from django.conf import settings

CURRENCY_CODE = re.compile(r"[A-Z]{3}")


class RatesUnavailable(Exception):
    """No rate for a currency, whatever the reason; the message says which."""


@dataclass(frozen=True)
class Rates:
    base: str
    rates: Mapping[str, Decimal]

    def rate(self, currency: str) -> Decimal:
        try:
            return self.rates[currency]
        except KeyError:
            raise RatesUnavailable(
                f"The exchange-rates service has no rate for {currency}."
            ) from None


def currency_code(value: str) -> str:
    """``value`` as an ISO 4217 code ("eur" → "EUR")."""
    code = value.strip().upper()
    if not CURRENCY_CODE.fullmatch(code):
        raise RatesUnavailable(f"{value!r} is not a currency code such as EUR.")
    return code


def parse_rates(body: bytes, base: str) -> Rates:
    """The service's answer, checked: a malformed one is no answer."""
    try:
        # Decimals as written: 0.1 must not become 0.1000000000000000055.
        answer = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    except ValueError:
        raise RatesUnavailable("The exchange-rates service answered with malformed JSON.") from None
    rates = answer.get("rates") if isinstance(answer, dict) else None
    if (
        not isinstance(rates, dict)
        or answer.get("base", base) != base
        or not all(
            isinstance(code, str)
            and CURRENCY_CODE.fullmatch(code)
            and isinstance(rate, Decimal)
            and rate.is_finite()
            and rate > 0
            for code, rate in rates.items()
        )
    ):
        raise RatesUnavailable(f"The exchange-rates service's answer holds no valid {base} rates.")
    return Rates(base=base, rates=rates)


@cache
def _tls() -> ssl.SSLContext:
    # Made once: loading the CA certificates, as every new httpx client does
    # by default, takes longer than a whole fetch on a nearby service.
    return httpx.create_ssl_context()


async def fetch_rates(url: str, base: str, time_limit: float) -> Rates:
    try:
        # httpx's timeout bounds each phase (connect, each read); this bounds
        # the whole fetch, however slowly the bytes trickle in.
        async with (
            asyncio.timeout(time_limit),
            httpx.AsyncClient(timeout=time_limit, verify=_tls()) as client,
        ):
            response = await client.get(url, params={"from": base})
    except (TimeoutError, httpx.TimeoutException):
        raise RatesUnavailable("The exchange-rates service did not answer in time.") from None
    except httpx.HTTPError as error:
        raise RatesUnavailable(f"The exchange-rates service cannot be reached: {error}") from None
    if response.status_code != httpx.codes.OK:
        raise RatesUnavailable(f"The exchange-rates service answered HTTP {response.status_code}.")
    return parse_rates(response.content, base)


class RatesCache:
    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], tuple[float, Rates]] = {}
        # Tasks belong to the event loop that made them; each loop shares its own.
        self._fetching: dict[tuple[asyncio.AbstractEventLoop, str, str], asyncio.Task[Rates]] = {}

    async def get(self, base: str) -> Rates:
        url = settings.EXCHANGE_RATES_URL
        if not url:
            raise RatesUnavailable("No exchange-rates service is configured.")
        kept = self._kept.get((url, base))
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        key = (asyncio.get_running_loop(), url, base)
        fetch = self._fetching.get(key)
        if fetch is None:
            fetch = asyncio.create_task(self._fetch(url, base))
            self._fetching[key] = fetch
            fetch.add_done_callback(lambda _: self._fetching.pop(key, None))
        # A waiter that is cancelled (its client left) must not cancel the
        # fetch the others wait for.
        return await asyncio.shield(fetch)

    async def _fetch(self, url: str, base: str) -> Rates:
        rates = await fetch_rates(url, base, settings.EXCHANGE_RATES_TIMEOUT)
        self._kept[(url, base)] = (time.monotonic() + settings.EXCHANGE_RATES_TTL, rates)
        return rates


rates_cache = RatesCache()


class RatesLoader:
    """The rates of one execution: every product converted in it uses the same
    rates, and the cache is asked once, however many products there are."""

    def __init__(self) -> None:
        self._rates: asyncio.Future[Rates] | None = None

    async def rate(self, currency: str) -> Decimal:
        """The price of one unit of ``CATALOG_CURRENCY`` in ``currency``."""
        base = settings.CATALOG_CURRENCY
        if currency == base:  # no conversion, so no service needed
            return Decimal(1)
        if self._rates is None:
            self._rates = asyncio.ensure_future(rates_cache.get(base))
        if not self._rates.done():
            # Shielded: one product's resolver being cancelled must not
            # cancel the fetch the others wait for.
            await asyncio.shield(self._rates)
        return self._rates.result().rate(currency)
