"""Errors of the files service."""

from kartoteka.errors import NotFound, TooLarge, ValidationFailed


class FileNotFound(NotFound):
    """No such file in this workspace, or the actor may not see it (the same answer)."""


class FileTooLarge(TooLarge):
    """The upload exceeds the instance's `max_upload_bytes`."""


class FileInvalid(ValidationFailed):
    """The upload is missing or its content cannot be processed (a corrupt image)."""
