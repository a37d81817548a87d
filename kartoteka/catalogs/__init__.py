"""Catalogs (user-defined tables) and their fields."""
