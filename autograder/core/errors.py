"""The package's own error type for problems a user can fix.

Every command-line failure the user can act on is an :class:`UserError` (or a subclass: the
course's ``CourseError``, the book's ``BuildError``, ...). ``python -m autograder`` prints such an
error as one line, ``error: <message>``, and the message says what to do. Any other exception is
a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem the person running the command can fix; the message says how."""
