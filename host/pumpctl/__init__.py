"""Host tools for the insulin pump firmware."""
