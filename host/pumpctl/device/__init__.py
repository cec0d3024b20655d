"""MicroPython programs the host tools send to a board (not imported on the host)."""
