"""Adapters: the infrastructure that implements the application's ports."""
