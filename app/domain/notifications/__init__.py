"""Notifications: what concerns a member (assigned, mentioned, watched, sprints, due actions)."""
