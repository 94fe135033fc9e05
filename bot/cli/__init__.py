"""Command-line entry points besides ``serve`` and ``check-config``."""
