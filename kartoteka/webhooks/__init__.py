"""Webhooks: notify (after commit, via the workers), request (may veto a write), action.

Importing the package registers the request-webhook check and the live-feed wake-up
on the write path, the same way a plugin would; the API imports it through its webhooks routes.
"""

from . import live, request_hooks

request_hooks.install()
live.install()
