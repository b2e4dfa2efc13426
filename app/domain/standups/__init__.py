"""Async stand-ups: each member's entry per working day of the active sprint."""
