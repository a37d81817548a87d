"""Errors of the webhooks service."""

from kartoteka.errors import Conflict, NotFound, ValidationFailed


class WebhookNotFound(NotFound):
    """No such webhook or delivery."""


class WebhookInvalid(ValidationFailed):
    """A webhook definition is invalid; `fields` names the key and the reason."""


class WebhookDisabled(Conflict):
    """The webhook is not active, so a delivery cannot be replayed."""


class WebhookNotNotify(Conflict):
    """Only notify webhooks have a delivery queue (request and action webhooks are called live)."""
