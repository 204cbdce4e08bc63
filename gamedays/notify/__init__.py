"""Mattermost / Slack webhooks."""
