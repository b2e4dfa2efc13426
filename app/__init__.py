"""Timebox: a Scrum/Agile sprint service with an async JSON API."""

__version__ = "0.1.0"
