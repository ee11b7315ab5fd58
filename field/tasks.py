"""Field work has no background jobs yet (clock-ins and visits are written in the request)."""
