"""The records of cobuilding."""
