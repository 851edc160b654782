"""The one exception bnnkit raises for bad input; the CLI prints it on one line."""


class BnnkitError(Exception):
    """A user-facing error: the message names the file and the problem.

    ``exit_code`` follows click's convention: 2 for bad input / usage,
    1 for a failure while running (emulator crash, time-out).
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def one_line(text) -> str:
    r"""``text`` as one printable line: control and format characters (newlines,
    NUL, bidi overrides) from file or tensor names shown as escapes.

    Example:
        >>> one_line("net\n.tflite: bad")
        'net\\n.tflite: bad'
    """
    import unicodedata

    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") else ch
                   for ch in str(text))
