"""Errors of the records service.

They are defined with the shared domain errors (`kartoteka.errors`) because the filter
compiler and the access visibility helpers, which records build on, raise them too.
"""

from kartoteka.errors import RecordInvalid, RecordNotFound

__all__ = ["RecordInvalid", "RecordNotFound"]
