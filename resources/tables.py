"""Tables of resources (the pages render their own)."""
