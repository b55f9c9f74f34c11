"""Volunteering: teams, activities, check-in, service hours, dual registration, wishes."""
