"""The page's live logic (storefront/static/storefront/live-catalog.js) has
tests of its own in JavaScript, run by Node's test runner: this runs them."""

import subprocess
from pathlib import Path

import pytest

from tests.node_clients import ROOT, node

TESTS = Path(__file__).with_name("live-catalog.test.js")


def test_the_module_passes_its_node_tests():
    completed = subprocess.run(
        [node(), "--test", str(TESTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"node --test failed:\n{completed.stdout[-6000:]}\n{completed.stderr[-2000:]}")
    assert "# fail 0" in completed.stdout
