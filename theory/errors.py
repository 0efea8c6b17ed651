"""The one kind of error every layer raises for an expected failure (bad input, a damaged file, an
unreachable cluster): the command line reports it as one line on stderr with exit status 2, never as
a traceback. Each layer's own errors (ExpressionError, SettingError, ConfigError, StoreError, RunError,
...) derive from it, and from ValueError or RuntimeError as Python code expects."""


class UserError(Exception):
    """An expected failure; its message is one line that says what is wrong and, where it can, what to do."""


class UsageError(UserError):
    """A bad argument on the command line (any layer's): one line on stderr, exit status 2."""
