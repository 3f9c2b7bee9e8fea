"""The Textual user interface: the only package that imports Textual."""

import os

# Textual paces frames at 60 per second by default, so a cursor step waits up to 16.7 ms for its
# frame even when the work takes 2 ms. Frames are only drawn when something changed, so a higher
# cap costs nothing at rest. Set before any Textual import, which reads it once; the operator's own
# TEXTUAL_FPS wins.
os.environ.setdefault("TEXTUAL_FPS", "240")
