"""Adapters for credentials: password hashing and signed tokens."""
