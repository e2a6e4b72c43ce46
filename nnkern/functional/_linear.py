"""Filled by its issue."""
__all__ = []
