"""Notices: messages from the platform to a workspace's administrators (a webhook disabled...)."""
