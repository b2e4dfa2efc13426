"""The domain kernel: what every area shares (errors, clock, pagination, versioning, columns)."""
