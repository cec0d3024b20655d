# Written into each firmware slot by `pumpctl flash` (host/pumpctl/flash.py); absent in a dev tree.
BOARD: str
BUILD: str
