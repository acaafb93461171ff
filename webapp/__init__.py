"""Placeholder until the web issue lands."""
