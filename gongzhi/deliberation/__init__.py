"""Deliberation: consultation catalogue, topics, the four-step resolution, votes."""
