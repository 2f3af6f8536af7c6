"""The project's error types: each message names the input and what was expected."""


class AntbeeError(Exception):
    """A user-facing error; the CLIs print its message on one line and exit with `exit_code`."""

    exit_code = 2


class UsageError(AntbeeError, ValueError):
    """An argument, path or option that cannot be used as given."""


class ImageError(AntbeeError, ValueError):
    """An input that is not a decodable image (empty, truncated, not an image, too large)."""


class ModelError(AntbeeError, ValueError):
    """A model file that is missing, corrupt, or does not fit its labels."""
