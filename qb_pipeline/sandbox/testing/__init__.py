"""Aids for tests and the demo that drive the emulator from outside, over HTTP, as a client
or a person would. Not part of the emulator's backend; nothing in the emulator imports them."""
