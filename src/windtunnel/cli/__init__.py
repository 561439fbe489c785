"""The ``windtunnel`` command line, one module per command."""
