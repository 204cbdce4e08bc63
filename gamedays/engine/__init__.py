"""Preflight, timeline, isolated experiment runs, SLO monitor, guardrails, DR verification, journal."""
