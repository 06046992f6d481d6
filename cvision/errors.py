"""Errors a user can fix, told apart from bugs.

`main` ends a run that raises a `UserError` with its message on one line and exit status
2 (the traceback goes to the workdir's log); any other exception is a bug and keeps its
traceback. Each kind also derives from the built-in error it replaces, so callers and
tests that catch `ValueError` or `FileNotFoundError` keep working.
"""
import sys


def stop(error: Exception):
  """Ends a command on a problem the user can fix: `error: <message>` on one line, exit
  status 2."""
  message = ' '.join(str(error).split())
  print(f'error: {message}', file=sys.stderr)
  sys.exit(2)


class UserError(Exception):
  """A problem in what the user gave: a config, a path, a video, a codes store."""


class ConfigError(UserError, ValueError):
  """A config that cannot be run as written: an unknown field, a bad value or variant."""


class InputError(UserError, ValueError):
  """Input data that cannot be used: an empty split, too few frames, a bad labels file."""


class MissingInput(UserError, FileNotFoundError):
  """A file or folder the run needs is not there (a video folder, a trained codec)."""
