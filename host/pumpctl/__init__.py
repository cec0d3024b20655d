"""pumpctl: host tools for the insulin pump firmware."""

__version__ = "0.1.0"
