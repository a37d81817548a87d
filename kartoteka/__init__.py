"""Kartoteka: a self-hosted low-code business platform."""

__version__ = "0.1.0"
