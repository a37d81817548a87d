"""Rights: who may see and change which catalogs, records and fields."""
