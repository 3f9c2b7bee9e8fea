"""The Session Manager data channel (the websocket AWS's session-manager-plugin speaks), both
sides: the sandbox's agent end (server, agent, channel) and the framing the stand-in plugin shares
(frames, smux). /work/shared/ssm-data-channel.md has the protocol with citations.

Importing this package loads nothing: the stand-in imports `frames` and `smux` alone (standard
library only), the sandbox imports `server` (websockets) when it starts.
"""
