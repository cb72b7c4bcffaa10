"""The one exception type for mistakes a user can cause (bad file, wrong flag, wrong model)."""


class CadenzaError(Exception):
    """A problem the user can fix; the CLI prints its message as one sentence, no traceback."""
