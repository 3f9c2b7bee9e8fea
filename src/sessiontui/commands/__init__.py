"""The headless command-line paths."""
