"""Faults through a libpq connection: any PostgreSQL reachable by DSN (Aurora, RDS, Patroni, CloudNativePG)."""
