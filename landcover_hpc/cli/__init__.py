"""Command-line shells: each parses its arguments, calls one library function and returns an exit code."""
