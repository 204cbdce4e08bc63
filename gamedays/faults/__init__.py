"""Fault actions the Chaos Toolkit extensions lack, as python-provider functions, each with its rollback."""
