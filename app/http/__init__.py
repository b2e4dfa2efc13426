"""HTTP infrastructure: problem+json handlers, middleware, idempotency."""
