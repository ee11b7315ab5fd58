"""Field work's lists filter by month, day and department in their views (see ``views``)."""
