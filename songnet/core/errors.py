"""The one error type for problems a user can fix.

A :class:`SongnetError` message names the bad file or value and says what to do; the
command line prints it as one ``error: …`` line and exits with status 2.
"""

from __future__ import annotations


class SongnetError(Exception):
    """A problem with the user's input (a path, a value, a file), not a bug in songnet."""


class ParamsError(SongnetError):
    """A params file or section that does not match its params class."""


class SongnetWarning(UserWarning):
    """Something a user should know about an input that songnet still used (a truncated
    compressed file): the command line prints it as one ``warning: …`` line."""
