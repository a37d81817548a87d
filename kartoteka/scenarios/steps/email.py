"""`email`: send a message through the workspace's SMTP server (Jinja2, sandboxed).

A worker pass moving many runs sends their messages to the same server over one
connection (like the HTTP step's calls, which go out at once)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from .. import mail, templates
from ..errors import StepFailed
from .base import Checker, Deferred, StepKind, StepResult


def _addresses(value: Any, key: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        for part in str(item or "").replace(";", ",").split(","):
            part = part.strip()
            if part:
                if "@" not in part or any(c in part for c in "\r\n<>"):
                    raise StepFailed.of("step_email_address", key=key, value=part)
                out.append(part)
    return out


class SendEmail(StepKind):
    kind = "email"
    keys = frozenset({"to", "cc", "subject", "text", "html", "from"})
    effect = "external"
    summary = "Send an e-mail (`to`, `subject`, `text` and/or `html`, all templates)."

    def validate(self, spec: dict[str, Any], where: str, check: Checker) -> None:
        if not spec.get("to"):
            check.add(f"{where}.to", "scenario_required")
        check.text(spec, "subject", where)
        if not spec.get("text") and not spec.get("html"):
            check.add(f"{where}.text", "scenario_email_body")

    def run(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> StepResult:
        started = self.start(ctx, spec, instr)
        return started.alone() if isinstance(started, Deferred) else started

    def start(self, ctx: Any, spec: dict[str, Any], instr: dict[str, Any]) -> Any:
        names = ctx.names()
        message = {
            "to": _addresses(ctx.render("to", spec["to"]), "to"),
            "cc": _addresses(ctx.render("cc", spec["cc"]), "cc") if spec.get("cc") else [],
            "subject": templates.render_text(spec["subject"], names).replace("\n", " ")[:500],
            "text": templates.render_text(spec["text"], names) if spec.get("text") else "",
            "html": templates.render_text(spec["html"], names, html=True)
            if spec.get("html")
            else "",
        }
        if spec.get("from"):
            message["from"] = _addresses(ctx.render("from", spec["from"]), "from")[0]
        if not message["to"]:
            raise StepFailed.of("step_email_no_recipient")
        ctx.input.update(subject=message["subject"], text=message["text"], html=message["html"])
        message_id = f"<{ctx.idempotency_key()}@kartoteka>"
        if ctx.test:
            return StepResult(output={"recorded": message}, status="recorded")
        settings = ctx.services.smtp_override or mail.smtp_settings(ctx.ws)
        if settings is None:
            raise StepFailed.of("step_email_no_smtp")
        output = {"sent": True, "to": message["to"], "message_id": message_id}
        work = MailWork(settings, mail.build(settings, message, message_id))
        return Deferred(work, lambda failure: _sent(output, failure))


def _sent(output: dict[str, Any], failure: Any) -> StepResult:
    """The step's result from what sending gave: None, or why it failed."""
    if isinstance(failure, mail.MailError):
        raise StepFailed.of("step_email_failed", reason=str(failure))
    if isinstance(failure, BaseException):
        raise failure
    return StepResult(output=output)


@dataclass
class MailWork:
    """One run's message, sent alone or over one connection with other runs' messages
    of a worker pass that go to the same server as the same user."""

    settings: dict[str, Any]
    message: EmailMessage

    def group(self) -> tuple[Any, ...]:
        s = self.settings
        return ("email", s["host"], s.get("port"), s.get("security"), s.get("username"))

    def do(self) -> mail.MailError | None:
        """Send it now: None, or why it was not sent."""
        return mail.send_many(self.settings, [self.message])[0]

    @staticmethod
    def do_many(works: list[Any]) -> list[Any]:
        """Send the messages over one connection; None, or why not, for each."""
        return list(mail.send_many(works[0].settings, [w.message for w in works]))
