"""`manage.py register_documents PATH…` with the manifests Relay's compiler and
GraphQL Codegen's client preset write."""

import hashlib
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from persisted_queries.models import PersistedDocument

pytestmark = pytest.mark.django_db

PRODUCTS = "query Products { products(first: 2) { edges { node { sku } } } }"
PRODUCT = "query Product($sku: String) { product(sku: $sku) { name } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write(path: Path, content: object) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_relays_and_codegens_manifests_register_trusted_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Relay: ids of its own (an md5 by default); Codegen: the sha256 of the text.
    relay = write(tmp_path / "persisted_queries.json", {"6f1d2c9e0a": PRODUCTS})
    codegen = write(tmp_path / "persisted-documents.json", {sha256(PRODUCT): PRODUCT})
    call_command("register_documents", str(relay), str(codegen))
    assert "Registered 2 documents." in capsys.readouterr().out
    documents = {d.key: d for d in PersistedDocument.objects.all()}
    assert documents.keys() == {"6f1d2c9e0a", sha256(PRODUCT)}
    assert documents["6f1d2c9e0a"].sha256 == sha256(PRODUCTS)
    assert all(d.trusted for d in documents.values())
    # Again: the same rows, no duplicates.
    call_command("register_documents", str(relay))
    assert PersistedDocument.objects.count() == 2


def test_a_document_learnt_before_becomes_trusted(tmp_path: Path) -> None:
    PersistedDocument.objects.create(key=sha256(PRODUCT), sha256=sha256(PRODUCT), text=PRODUCT)
    call_command("register_documents", str(write(tmp_path / "m.json", {sha256(PRODUCT): PRODUCT})))
    assert PersistedDocument.objects.get().trusted


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not JSON"),
        ([PRODUCT], "a manifest is a JSON object"),
        ({"a": 1}, "a manifest is a JSON object"),
        ({"a": " "}, "a manifest is a JSON object"),
        ({"x" * 201: PRODUCT}, "longer than 200"),
    ],
)
def test_bad_manifests_are_refused_and_nothing_registered(
    tmp_path: Path, content: object, message: str
) -> None:
    good = write(tmp_path / "good.json", {"a": PRODUCT})
    bad = write(tmp_path / "bad.json", content)
    with pytest.raises(CommandError, match=message):
        call_command("register_documents", str(good), str(bad))
    assert not PersistedDocument.objects.exists()


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("register_documents", str(tmp_path / "nope.json"))
