"""Exceptions that the CLI turns into one line and an exit code."""


class MlcopsError(Exception):
    """Something went wrong while running; exit code 1."""

    exit_code = 1


class UsageError(MlcopsError):
    """Bad input from the user, detected before any host is changed; exit code 2."""

    exit_code = 2
