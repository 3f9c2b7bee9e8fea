"""Use cases shared by the CLI and the TUI (design.md: the house)."""
