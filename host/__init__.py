"""The host side: talk to a board over serial and check it against the emulator."""
