"""Retrospectives: a board of cards per sprint or project, grouped, voted on and discussed."""
