"""Records: the one write path and every read path over catalog rows."""
