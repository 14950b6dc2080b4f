"""Every test gets its own registry of running virtual boards (see pixelnet.host.registry),
so port auto-detection never finds a board another test, or the developer, is running.
And the fixtures shared by the host's fault and verification tests."""

from __future__ import annotations

import signal

import pytest

from pixelnet.host.compare import Reference
from pixelnet.host.registry import ENV_DIR
from pixelnet.trainer.lesson import lesson_model
from pixelnet.trainer.model_file import save_model

# A suite started in the background of a non-interactive shell (`make test &`) inherits
# SIGINT ignored, and so would every command it starts, since an ignored signal stays
# ignored across exec: the tests that press Ctrl-C on a command need it heard.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def own_virtual_board_registry(tmp_path_factory: pytest.TempPathFactory,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DIR, str(tmp_path_factory.mktemp("boards")))


@pytest.fixture(scope="module")
def lesson_ref() -> Reference:
    """The lesson network as the q7 board computes it."""
    return Reference.from_model(lesson_model(), "q7")


@pytest.fixture(scope="module")
def lesson_file(tmp_path_factory):
    """The lesson network as a model file, for the command line."""
    return save_model(lesson_model(), tmp_path_factory.mktemp("model") / "lesson.json")
