"""Django's ``Signer``, for signing as often as a stream does: a cursor for
every batch, and a resume token for every batch that selects one. Django
derives the HMAC key from the secret and builds a JSON encoder anew for every
signature; here both are made once. The signatures are Django's, byte for
byte, so values signed by either are accepted by both."""

import hashlib
import hmac
import json
from functools import cached_property
from typing import Any

from django.core import signing
from django.utils.encoding import force_bytes

# What json.dumps(…, separators=(",", ":")) makes for every call.
_encoder = json.JSONEncoder(separators=(",", ":"))


class CompactJSONSerializer(signing.JSONSerializer):
    def dumps(self, obj: Any) -> bytes:
        return _encoder.encode(obj).encode("latin-1")


class Signer(signing.Signer):
    def signature(self, value: str | bytes, key: str | bytes | None = None) -> str:
        if key is not None and key != self.key:  # a fallback key, when unsigning
            return str(super().signature(value, key))
        digest = hmac.digest(self._derived_key, force_bytes(value), self.algorithm)
        return signing.b64_encode(digest).decode()

    @cached_property
    def _derived_key(self) -> bytes:
        # As django.utils.crypto.salted_hmac derives it.
        salt = force_bytes(self.salt) + b"signer"
        return hashlib.new(self.algorithm, salt + force_bytes(self.key)).digest()

    def sign_object(
        self, obj: Any, serializer: type[Any] = CompactJSONSerializer, compress: bool = False
    ) -> str:
        return str(super().sign_object(obj, serializer, compress))
