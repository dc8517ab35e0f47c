"""The exception type for mistakes a user can fix (bad path, bad file, bad name)."""


class DLADenseError(Exception):
    """A user-fixable error; its message is one line naming the thing and the fix.

    Command-line tools print it as ``error: <message>`` and exit with status 2, without a traceback.
    """
