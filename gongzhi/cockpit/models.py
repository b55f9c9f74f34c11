"""The records of the cockpit."""
