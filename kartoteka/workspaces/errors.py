"""Errors of the workspaces service."""

from kartoteka.errors import Conflict, NotFound, ValidationFailed


class WorkspaceNotFound(NotFound):
    """No workspace with this name on this instance."""


class WorkspaceExists(Conflict):
    """A workspace with this name already exists."""


class BadWorkspaceName(ValidationFailed):
    """The name is not a valid workspace name."""


class BadBackup(ValidationFailed):
    """A backup archive is unreadable or does not fit this instance."""
