"""Workspaces: the unit of isolation. `Instance` is one server's view of all of them."""

from .errors import WorkspaceExists, WorkspaceNotFound
from .service import Instance

__all__ = ["Instance", "WorkspaceExists", "WorkspaceNotFound"]
