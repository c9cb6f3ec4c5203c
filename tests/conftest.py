from __future__ import annotations

from pathlib import Path

import pytest

from appraisal.testing import make_host

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolate_environment(monkeypatch):
    """Plugin-loading environment variables of the developer's shell must not leak into tests."""
    for name in ("APPRAISAL_DISABLE_PLUGINS", "APPRAISAL_STRICT_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def host():
    """A fresh plugin host per test: built-ins only, no installed entry points."""
    return make_host()
