"""The `stoker` command line: one entry point, subcommands owned by each package."""
