"""Invitations: joining a project by email, without revealing who has an account."""
