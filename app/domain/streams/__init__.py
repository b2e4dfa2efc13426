"""Stream tickets: short-lived, single-use credentials for the live streams' URLs."""
