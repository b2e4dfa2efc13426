"""Idempotency-Key support for POST requests."""
