"""SMTP settings of a workspace and sending messages (the e-mail step uses it): one, or
many of a worker pass over one connection."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from kartoteka.context import Workspace
from kartoteka.errors import ItemError, problem

SETTING = "smtp"
SECURITY = ("none", "starttls", "ssl")
KEYS = frozenset({"host", "port", "username", "password", "from", "security", "timeout"})


class MailError(Exception):
    """Sending failed (no settings, refused, network)."""


def smtp_settings(ws: Workspace) -> dict[str, Any] | None:
    """The workspace's SMTP settings (None when none are set)."""
    value = ws.meta().settings.get(SETTING)
    return value if isinstance(value, dict) and value.get("host") else None


def clean_settings(body: Any) -> tuple[dict[str, Any], list[ItemError]]:
    """Validated SMTP settings, or the errors (codes by key)."""
    if not isinstance(body, dict):
        return {}, [problem("scenario_must_be_object", "body")]
    errors = [problem("scenario_unknown_key", str(key)[:100]) for key in set(body) - KEYS]
    if not isinstance(body.get("host"), str) or not body["host"].strip():
        errors.append(problem("scenario_required", "host"))
    port = body.get("port", 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        errors.append(problem("smtp_port", "port"))
    if body.get("security", "none") not in SECURITY:
        errors.append(problem("scenario_one_of", "security", allowed=", ".join(SECURITY)))
    if not isinstance(body.get("from"), str) or "@" not in body.get("from", ""):
        errors.append(problem("smtp_from", "from"))
    for key in ("username", "password"):
        if body.get(key) is not None and not isinstance(body[key], str):
            errors.append(problem("smtp_string", key))
    clean = {k: body[k] for k in KEYS if k in body}
    clean.setdefault("port", 25)
    clean.setdefault("security", "none")
    return clean, errors


def build(settings: dict[str, Any], message: dict[str, Any], message_id: str) -> EmailMessage:
    """The message to send (text, and HTML as an alternative when given)."""
    mail = EmailMessage()
    mail["From"] = message.get("from") or settings["from"]
    mail["To"] = ", ".join(message["to"])
    if message.get("cc"):
        mail["Cc"] = ", ".join(message["cc"])
    mail["Subject"] = message["subject"]
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id
    mail.set_content(message.get("text") or "")
    if message.get("html"):
        mail.add_alternative(message["html"], subtype="html")
    return mail


def send(settings: dict[str, Any], mail: EmailMessage) -> None:
    """Deliver through the workspace's SMTP server."""
    [failure] = send_many(settings, [mail])
    if failure is not None:
        raise failure


def send_many(settings: dict[str, Any], mails: list[EmailMessage]) -> list[MailError | None]:
    """Deliver messages over one connection (one handshake, one login): for each, None
    when sent or why not. A message the server refuses fails alone; when the connection
    itself fails, that message and the ones after it fail with it."""
    failures: list[MailError | None] = [None] * len(mails)
    host, port = settings["host"], int(settings.get("port", 25))
    timeout = float(settings.get("timeout", 20))
    sent = 0
    try:
        if settings.get("security") == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if settings.get("security") == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.get("username"):
                client.login(settings["username"], settings.get("password") or "")
            for sent, mail in enumerate(mails):
                try:
                    client.send_message(mail)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                        smtplib.SMTPDataError) as exc:  # fmt: skip
                    failures[sent] = _failure(exc)
                    client.rset()
            sent = len(mails)
    except (smtplib.SMTPException, OSError) as exc:
        for n in range(sent, len(mails)):
            if failures[n] is None:
                failures[n] = _failure(exc)
    return failures


def _failure(exc: Exception) -> MailError:
    # english-ok: the mail server's own words, recorded inside the coded step_email_failed
    return MailError(f"{type(exc).__name__}: {exc}")
