"""One module per pumpctl subcommand; each exposes add_parser(subparsers) and run(args)."""
