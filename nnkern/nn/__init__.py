"""nnkern.nn -- modules with explicit forward/backward (filled by its issue)."""
