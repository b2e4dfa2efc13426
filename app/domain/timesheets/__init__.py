"""Time tracking: work logs on items and the project's time report."""
