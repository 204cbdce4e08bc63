"""The embedded default environment: a small real system to break on one machine.

Everything here binds to 127.0.0.1 on free ports and is torn down even when a
run fails.
"""
