"""The attendance table is a month grid rendered by its template (``field/attendance.html``)."""
