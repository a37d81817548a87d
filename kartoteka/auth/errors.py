"""Errors of the auth service."""

from kartoteka.errors import NotFound, Unauthenticated, ValidationFailed


class WrongCredentials(Unauthenticated):
    """Email/password or token is wrong, expired, revoked, or the user is inactive."""


class TokenNotFound(NotFound):
    """No such token among those the actor may see."""


class BadTokenSpec(ValidationFailed):
    """An API token request is invalid (name, scopes, expiry)."""
