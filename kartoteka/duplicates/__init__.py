"""Duplicate rules, the check on every write, the scan over existing records and merge.

A catalog's rules (`rules.py`) name one or several fields and how each is normalised
(`normalise.py`). Every record keeps one normalised key per rule in `duplicate_keys`,
kept in step by the write hook (`keys.py`); a create or update whose key another record
already holds is refused before the write (`check.py`, `409 DUPLICATE`) unless the
caller asks to skip the check. `scan.py` groups existing records by key; `merge.py`
folds two or more records into one. See docs/duplicates.md and decision 0019.
"""
