"""Webhooks: owners' subscriptions to a project's events, and their deliveries."""
