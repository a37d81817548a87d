"""Users and groups of a workspace."""
