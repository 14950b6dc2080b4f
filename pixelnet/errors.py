"""The one error family the command line turns into a message and exit code 2.

Library code raises these for problems a user can fix (a bad model file, a
missing tool, a silent port); anything else is a bug and keeps its traceback.
"""


class PixelnetError(Exception):
    """A problem the user can fix; its message is shown as-is."""


class ModelFileError(PixelnetError):
    """A model file that is missing, malformed or inconsistent."""


class ToolMissingError(PixelnetError):
    """An external tool (avr-gcc, simavr, micropython, avrdude …) is not installed."""


def printable(text: str) -> str:
    """``text`` with control characters (ESC, CR, BEL …) shown as escapes, not obeyed.

    A file name, class name or value quoted in a message must not move the
    cursor, recolour or clear the user's terminal. Newlines and tabs stay.
    """
    return "".join(
        ch if ch in "\n\t" or (ch.isprintable() and ch != "\x7f") else repr(ch)[1:-1]
        for ch in text
    )
