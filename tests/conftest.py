"""Every test gets its own registry of running virtual boards (see pixelnet.host.registry),
so port auto-detection never finds a board another test, or the developer, is running."""

from __future__ import annotations

import pytest

from pixelnet.host.registry import ENV_DIR


@pytest.fixture(autouse=True)
def own_virtual_board_registry(tmp_path_factory: pytest.TempPathFactory,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DIR, str(tmp_path_factory.mktemp("boards")))
