"""Exporting a catalog's records as CSV, XLSX or JSON lines."""
