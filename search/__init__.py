"""Baheth (باحث): full-text search for Arabic news. The engine, importable without Flask."""

__version__ = "0.1.0"
