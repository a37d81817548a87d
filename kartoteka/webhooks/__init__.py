"""Webhooks: notify (after commit, via the workers), request (may veto a write), action.

The request-webhook check and the live-feed wake-up are write hooks listed in
`kartoteka.plugins.DEFAULT_PLUGINS`; importing this package installs nothing.
"""
