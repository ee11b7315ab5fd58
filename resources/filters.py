"""Filters of resources (the class list filters by course in its view)."""
