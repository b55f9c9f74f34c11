"""Co-building: agreements and the three lists, micro-projects, fund, alliances, meetings, pairings, assessments."""
