"""Adapters for time and identifiers."""
