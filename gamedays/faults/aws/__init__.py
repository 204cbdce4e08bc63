"""Faults through AWS APIs (boto3, chaosaws): any account by the standard credential chain."""
