"""Models of the cases domain."""
