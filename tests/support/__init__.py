"""Test doubles that talk over real sockets: stand-ins for systems Aura reads from."""
