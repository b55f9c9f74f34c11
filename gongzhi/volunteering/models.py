"""The records of volunteering."""
