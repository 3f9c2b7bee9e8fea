"""Use cases shared by the command line and the TUI (design.md: the house)."""
