"""The click command-line interface: one thin module per command."""
