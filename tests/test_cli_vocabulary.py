"""The command line speaks one vocabulary: every subcommand described, with examples that
parse, every option explained with its default, the same flag for the same thing."""

from __future__ import annotations

import argparse
import shlex

import pytest

from pixelnet.cli import build_parser, main
from pixelnet.options import FORMATS, HelpFormatter

PARSER = build_parser()
SUBPARSERS = next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction))
COMMANDS = sorted(SUBPARSERS.choices)


def _visible(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions
            if a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)]


def _examples(parser: argparse.ArgumentParser) -> list[str]:
    lines = (parser.epilog or "").splitlines()
    return [line.split("#")[0].strip() for line in lines[1:] if line.strip()]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_subcommand_has_a_description_and_examples_that_parse(name: str) -> None:
    parser = SUBPARSERS.choices[name]
    assert parser.description and len(parser.description) > 40, name
    assert parser.formatter_class is HelpFormatter, name
    examples = _examples(parser)
    assert parser.epilog.startswith("examples:\n") and examples, name
    for example in examples:
        argv = shlex.split(example)
        assert argv[:2] == ["pixelnet", name], example
        PARSER.parse_args(argv[1:])  # exits (SystemExit) if an example does not parse


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help_and_shows_its_default(name: str) -> None:
    parser = SUBPARSERS.choices[name]
    text = parser.format_help()
    assert "``" not in text and ":mod:" not in text, name
    for action in _visible(parser):
        assert action.help, (name, action.option_strings)
        if action.nargs != 0 and action.default not in (None, [], ()):
            help_text = HelpFormatter("x")._get_help_string(action)
            assert "default" in help_text, (name, action.option_strings)


@pytest.mark.parametrize("name", COMMANDS)
def test_same_flag_same_meaning(name: str) -> None:
    parser = SUBPARSERS.choices[name]
    for action in _visible(parser):
        flags = set(action.option_strings)
        if "--format" in flags:
            assert tuple(action.choices) == FORMATS, name
        if "--model" in flags or "--out" in flags:
            assert action.metavar == "FILE" or "file" in action.help.lower(), (name, flags)
        if "--out-dir" in flags or "--build-dir" in flags:
            assert "folder" in action.help or "directory" in action.help, (name, flags)
    positionals = [a for a in _visible(parser) if not a.option_strings]
    assert positionals == [], name  # files, models and boards are always named options


def test_model_is_given_with_model_everywhere() -> None:
    with_model = {n for n in COMMANDS
                  if any("--model" in a.option_strings for a in SUBPARSERS.choices[n]._actions)}
    assert with_model == {"show", "generate", "build", "flash", "sim", "verify", "monitor"}
    for name in with_model:
        assert any("--lesson" in a.option_strings for a in SUBPARSERS.choices[name]._actions)


def test_old_spellings_still_work_and_say_so(tmp_path, capsys) -> None:
    assert main(["generate", "--lesson", "--target", "c", "--out", str(tmp_path / "g")]) == 0
    assert (tmp_path / "g" / "pixelnet_model.c").is_file()
    assert "--out is deprecated here: use --out-dir" in capsys.readouterr().err
    model = tmp_path / "m.json"
    from pixelnet.trainer.lesson import lesson_model
    from pixelnet.trainer.model_file import save_model

    save_model(lesson_model(), model)
    assert main(["show", str(model)]) == 0
    captured = capsys.readouterr()
    assert f"a positional file is deprecated here: use --model {model}" in captured.err
    assert "layer" in captured.out


def test_model_given_twice_is_refused(tmp_path, capsys) -> None:
    assert main(["show", "m.json", "--lesson"]) == 2
    assert "give the model once" in capsys.readouterr().err


def test_falling_back_to_the_lesson_is_announced(tmp_path, capsys) -> None:
    assert main(["build", "--board", "micropython", "--build-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "pixelnet build: no --model given: using the lesson's hand-wired network" \
        in captured.err
    assert "board files:" in captured.out
    assert main(["build", "--board", "micropython", "--lesson", "--build-dir",
                 str(tmp_path)]) == 0
    assert "no --model" not in capsys.readouterr().err


def test_generate_for_micropython_says_nothing_about_avr_memory(tmp_path, capsys) -> None:
    assert main(["generate", "--lesson", "--target", "micropython",
                 "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "class agreement" in out and "flash" not in out and "static RAM" not in out
    assert main(["generate", "--lesson", "--target", "arduino", "--out-dir", str(tmp_path)]) == 0
    assert "B of tables in flash" in capsys.readouterr().out


def test_sim_lists_only_the_commands_its_board_takes() -> None:
    from pixelnet.firmware.cli import commands_help

    for board in ("uno", "nano", "mega"):
        assert "| cycles |" in commands_help(board) and "sensor" not in commands_help(board)
    assert "cycles" not in commands_help("micropython")
    assert "sensor" not in commands_help("micropython")
    assert "| sensor off|on |" in commands_help("cortex-m3")
    assert "cycles" not in commands_help("cortex-m3")
    summary = next(a.help for a in SUBPARSERS._choices_actions if a.dest == "sim")
    assert all(name in summary for name in ("Uno", "MicroPython", "Cortex-M3")), summary
