import hashlib


def sha256_hex(text: str) -> str:
    """The hash Apollo's link and GraphQL Codegen compute: of the UTF-8 text."""
    return hashlib.sha256(text.encode()).hexdigest()
