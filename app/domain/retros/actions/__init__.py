"""Retro action items: numbered per project, followed up until done (or dropped)."""
