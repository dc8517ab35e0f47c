"""The exception type for mistakes a user can fix (bad path, bad file, bad name), and the tagging of other
exceptions with the input that was being worked on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class DLADenseError(Exception):
    """A user-fixable error; its message is one line naming the thing and the fix.

    Command-line tools print it as ``error: <message>`` and exit with status 2, without a traceback.
    """


class InvalidArgumentError(DLADenseError, ValueError):
    """A bad argument value; also a ``ValueError``, which the host libraries of the adapters (smp, torchvision,
    mm*) raise and catch for the same mistake."""


class InvalidTypeError(DLADenseError, TypeError):
    """An argument of the wrong type; also a ``TypeError``, as Python's own convention has it."""


class InputSizeError(DLADenseError, RuntimeError):
    """An input tensor of a size the network cannot take; also a ``RuntimeError``, as smp raises for it."""


#: The attribute :func:`about_input` sets on an exception that is not a :class:`DLADenseError`.
INPUT_ATTR = "dla_dense_input"


@contextlib.contextmanager
def about_input(name: str) -> Iterator[None]:
    """Tag an unexpected exception raised inside the block with the input being worked on (``name``: a file,
    a source), so that the tools' last-resort guard can name it; the exception itself propagates unchanged."""
    try:
        yield
    except DLADenseError:
        raise
    except Exception as e:
        if not hasattr(e, INPUT_ATTR):
            setattr(e, INPUT_ATTR, name)
        raise
