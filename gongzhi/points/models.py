"""Models of the points domain."""
