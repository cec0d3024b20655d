"""`pumpctl monitor`, by job: ``session`` (the link to one board: connect, reconnect, commands,
what to say when no pump firmware answers), ``view`` (what the screen shows, and the JSON
lines), ``recorder`` (telemetry to a pumptrace/1 file). The command itself, its options and its
loop, is pumpctl/commands/monitor.py."""
