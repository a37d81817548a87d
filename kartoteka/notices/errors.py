"""Errors of the notices service."""

from kartoteka.errors import NotFound


class NoticeNotFound(NotFound):
    """No such notice."""
