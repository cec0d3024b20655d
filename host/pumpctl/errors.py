"""One error chain: anything a user can cause ends as a PumpctlError, printed once by cli.main."""


class PumpctlError(Exception):
    """A failure caused by input or environment (not a bug): printed as 'pumpctl: msg', exit 1."""

    exit_code = 1


class UsageError(PumpctlError):
    """Bad input (arguments, scenario, trace): exit 2, like argparse."""

    exit_code = 2
