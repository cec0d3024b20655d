"""The one error type host commands raise for a user-facing failure."""


class PumpctlError(Exception):
    """A failure caused by input or environment, not a bug: printed as ``pumpctl: msg``."""
