"""gameday: chaos gameday orchestration for SRE teams, built on Chaos Toolkit."""

__version__ = "0.1.0"
