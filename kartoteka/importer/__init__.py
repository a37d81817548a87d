"""Importing CSV and XLSX files into catalogs through the one write path."""
