"""The records of deliberation."""
