"""The journal: its I/O (io), and, below engine and reporting, what is derived from its events."""
