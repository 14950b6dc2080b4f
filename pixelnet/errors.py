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
