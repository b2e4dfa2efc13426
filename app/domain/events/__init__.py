"""Public events: one catalogue, written with the change; activity, streams and webhooks read it."""
