"""Models of the shop domain."""
