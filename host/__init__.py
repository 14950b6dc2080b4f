"""The host side: talk to a board over serial and check it against the emulator.

Pure logic apart from I/O:

- ``frames``, ``messages``: the protocol's framing and payloads (bytes only);
- ``client``: ``BoardClient``, the protocol over any serial-like object;
- ``connect``: find, open and identify a board; the handshake checks;
- ``compare``, ``metrics``: what the board should have computed, and how far
  it is from the float model (NumPy, whole batches at a time);
- ``verify``: ``Verifier`` drives the client and accumulates the report;
- ``samplelog``, ``record``, ``report``, ``monitor``: CSV, JSON and the screen;
- ``vectors``: the test vectors the host injects;
- ``demo``: ``pixelnet demo``, the whole loop on a virtual board;
- ``fake_board``, ``faults``: a Python board on a pty and a damaging line
  proxy, for tests and benchmarks without hardware.
"""
