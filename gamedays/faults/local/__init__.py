"""Faults on processes and files of the machine running gameday: data directories, pg_ctl, the TCP fault proxy."""
