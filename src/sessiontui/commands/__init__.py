"""The headless command-line paths (design.md: the house)."""
