"""Authentication: passwords, sessions, API tokens and the short-lived credential cache."""
