"""What the vboard's boot ROM (vboot.py) and its host relay (`pumpctl vboard`) agree on.

vboot writes READY_MARK once the REPL is next; the relay swallows it (and, after a raw soft
reset, the friendly banner that follows) so the wire looks like a board's. Host-side only: never
flashed (pumpctl.bundle.HOST_ONLY).
"""

READY_MARK = b"\x00vboard:repl\x00"
