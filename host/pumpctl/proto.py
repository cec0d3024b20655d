"""The firmware's own frame codec (firmware/pump/protocol.py), used by the host tools.

One implementation on both ends of the link: what the host encodes is what
the firmware decodes, byte for byte.
"""

from .firmware import import_firmware

import_firmware()

from pump.protocol import (  # noqa: E402
    COMMAND,
    ERROR,
    EVENT,
    KIND_NAMES,
    RESPONSE,
    STATUS,
    Auth,
    Frame,
    FrameError,
    FrameReader,
    encode,
)

__all__ = ["COMMAND", "ERROR", "EVENT", "KIND_NAMES", "RESPONSE", "STATUS", "Auth", "Frame",
           "FrameError", "FrameReader", "encode"]
