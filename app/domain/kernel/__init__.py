"""The domain kernel, shared by every area and importing none: errors, clock, calendar,
pagination, versioning, column factories, input bounds and row views."""
