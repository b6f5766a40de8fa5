"""Shared test support: constants and helpers for tests and fixtures alike. Tests import
them from here, never from conftest.py, which holds only fixtures and hooks."""
