"""Exceptions raised by the strata bindings.

Every failing C call raises a subclass of :class:`StrataError` chosen by its
status code, carrying the library's detailed message (``strata_errmsg`` and
friends) and the numeric status.  The subclasses also derive from the closest
built-in exception, so ``except ValueError`` catches a bad argument and
``except LookupError`` a hook name that matches nothing.

=========================  ============  ==================================
class                      C status      also a
=========================  ============  ==================================
StoppedError               STOPPED (1)   RuntimeError
StrataIOError              ERR_IO        OSError
FormatError                ERR_FORMAT    ValueError
UnsupportedError           ERR_UNSUPPORTED  NotImplementedError
NoMemoryError              ERR_NOMEM     MemoryError
ArgumentError              ERR_ARG       ValueError
NotFoundError              ERR_NOTFOUND  LookupError
StrataRangeError           ERR_RANGE     IndexError
NumericError               ERR_NUMERIC   ArithmeticError
StateError                 ERR_STATE     RuntimeError
ExistsError                ERR_EXISTS    FileExistsError
ClosedError                (bindings)    StateError
HookReturnError            (bindings)    ValueError
LibraryNotFoundError       (bindings)    ImportError
=========================  ============  ==================================
"""

from __future__ import annotations

__all__ = [
    "StrataError", "StoppedError", "StrataIOError", "FormatError", "UnsupportedError",
    "NoMemoryError", "ArgumentError", "NotFoundError", "StrataRangeError", "NumericError",
    "StateError", "ExistsError", "ClosedError", "HookReturnError", "LibraryNotFoundError",
    "error_for_status",
]


class StrataError(Exception):
    """Base class of every error raised by strata.

    Attributes:
        status: the C status code (negative for errors, 1 for STOPPED, 0 for
            errors detected by the bindings themselves).
        message: the detailed message.
    """

    status = 0

    def __init__(self, message: str = "", status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self) -> str:  # OSError and friends format their args differently
        return self.message


class StoppedError(StrataError, RuntimeError):
    """A C-level callback (not a Python hook) stopped the run."""
    status = 1


class StrataIOError(StrataError, OSError):
    """Opening, reading, writing or mapping a file failed."""
    status = -1


class FormatError(StrataError, ValueError):
    """A file or field is malformed or truncated."""
    status = -2


class UnsupportedError(StrataError, NotImplementedError):
    """Valid but not supported (dtype, architecture, version, missing module)."""
    status = -3


class NoMemoryError(StrataError, MemoryError):
    """An allocation failed."""
    status = -4


class ArgumentError(StrataError, ValueError):
    """A bad argument from the caller."""
    status = -5


class NotFoundError(StrataError, LookupError):
    """A named thing (hook, tensor, label) is absent."""
    status = -6


class StrataRangeError(StrataError, IndexError):
    """An index or size is out of range (token id, sequence length, head)."""
    status = -7


class NumericError(StrataError, ArithmeticError):
    """NaN/Inf, a singular matrix, no convergence."""
    status = -8


class StateError(StrataError, RuntimeError):
    """The call is not valid in the object's current state."""
    status = -9


class ExistsError(StrataError, FileExistsError):
    """The output exists and overwriting was not allowed."""
    status = -10


class ClosedError(StateError):
    """The object (model, tokenizer, file, probe...) was closed."""


class HookReturnError(StrataError, ValueError):
    """A Python hook returned something that cannot replace its tensor."""


class LibraryNotFoundError(StrataError, ImportError):
    """libstrata could not be found or has an incompatible version."""


_BY_STATUS = {cls.status: cls for cls in (
    StoppedError, StrataIOError, FormatError, UnsupportedError, NoMemoryError, ArgumentError,
    NotFoundError, StrataRangeError, NumericError, StateError, ExistsError)}


def error_for_status(status: int, message: str) -> StrataError:
    """The exception object for a C status code and its message."""
    cls = _BY_STATUS.get(int(status), StrataError)
    return cls(message, int(status))
