"""sessiontui: a terminal UI for AWS Systems Manager fleets with just-in-time access."""

__version__ = "0.1.0"
