"""Throttling of logins and registrations, kept in PostgreSQL so every worker shares it."""
