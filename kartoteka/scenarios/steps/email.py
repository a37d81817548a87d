"""`email`: send a message through the workspace's SMTP server (Jinja2, sandboxed)."""

from __future__ import annotations

from typing import Any

from .. import mail, templates
from ..errors import StepFailed
from .base import Checker, StepKind, StepResult


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
        try:
            mail.send(settings, mail.build(settings, message, message_id))
        except mail.MailError as exc:
            raise StepFailed.of("step_email_failed", reason=str(exc)) from None
        return StepResult(output={"sent": True, "to": message["to"], "message_id": message_id})
