"""Schemas of the answers beyond records and catalogs, for the generic OpenAPI document.

`openapi_shapes` holds the record, page, catalog and error shapes and puts every schema
into the document; this module states the rest of the API's answers (views, users,
groups, tokens, settings, webhooks and deliveries, imports, rights, shares, history,
comments, search, files, scenarios and runs, processes, notices, security). They are
open objects (a later version may add keys) whose listed keys and types are checked:
the test suite validates every JSON answer it receives against its operation's schema
(tests/support/openapi.py), so a schema here that drifts from the code fails the tests.

Over 500 lines on purpose: it is one table (a schema per answer and the operation →
schema map); split by area, a schema shared by two areas would have no obvious home.
"""

from __future__ import annotations

from typing import Any

from kartoteka.exporter import service as exporter

from . import openapi_duplicates

REF = "#/components/schemas/"
_STAMP = {"type": "string", "format": "date-time"}
_NULL_STAMP = {"type": ["string", "null"], "format": "date-time"}
_INT = {"type": "integer"}
_STR = {"type": "string"}
_NULL_STR = {"type": ["string", "null"]}
_BOOL = {"type": "boolean"}
_OBJ = {"type": "object"}
#: A failure's message code and its parameters, beside its text (errors in the reader's language).
_ERROR_CODE = {"type": ["string", "null"], "description": "the error's message code"}
_ERROR_PARAMS = {"type": ["object", "null"], "description": "the parameters of error_code"}
_NULL_OBJ = {"type": ["object", "null"]}
_USER_REF = {"oneOf": [{"$ref": REF + "UserRef"}, {"type": "null"}]}
_CATALOG_REF = {
    "type": "object",
    "properties": {"id": _INT, "api_name": _STR, "name": _STR},
    "required": ["id", "api_name"],
}


def obj(_required: str, _description: str = "", /, **properties: Any) -> dict[str, Any]:
    """An open object with `properties`; `_required` names the keys always present."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if _required:
        schema["required"] = _required.split()
    if _description:
        schema["description"] = _description
    return schema


def items_of(name: str, **extra: Any) -> dict[str, Any]:
    """`{"items": [<name>...], ...extra}`: the list answers' envelope."""
    return obj("items", items={"type": "array", "items": {"$ref": REF + name}}, **extra)


_NEXT = {"type": ["string", "null"], "description": "pass back as `cursor` for the next page"}
_BEFORE = {"type": ["integer", "null"], "description": "pass back as `before` for older items"}

SCHEMAS: dict[str, Any] = {
    "View": obj(
        "id catalog name type",
        id=_INT,
        catalog=_INT,
        name=_STR,
        type={"type": "string", "enum": ["table", "kanban", "calendar", "gantt", "gallery"]},
        filter=_NULL_OBJ,
        sort=_NULL_STR,
        fields={"type": "array", "items": _STR},
        options=_OBJ,
        position=_INT,
    ),
    "ViewList": items_of("View"),
    "Me": obj(
        "id email name is_admin",
        id=_INT,
        email=_STR,
        name=_STR,
        is_admin=_BOOL,
        groups={"type": "array", "items": _INT},
        profile=_OBJ,
        lang=_NULL_STR,
    ),
    "Login": obj(
        "token user",
        token={"type": "string", "description": "send as `Authorization: Bearer <token>`"},
        user=obj("id email", id=_INT, email=_STR, name=_STR),
        csrf_token=_STR,
    ),
    "Token": obj(
        "id name",
        id=_INT,
        name=_STR,
        token={"type": "string", "description": "shown once, when created"},
        created_at=_STAMP,
        expires_at=_NULL_STAMP,
        last_used_at=_NULL_STAMP,
        scopes=_NULL_OBJ,
    ),
    "TokenList": items_of("Token"),
    "Totp": obj("enabled", enabled=_BOOL, secret=_STR, uri=_STR),
    "User": obj(
        "id name",
        "`email` only to administrators and where the workspace shows e-mails",
        id=_INT,
        email=_STR,
        name=_STR,
        groups={"type": "array", "items": _INT},
        profile=_OBJ,
        active=_BOOL,
        is_admin=_BOOL,
        lang=_NULL_STR,
        created_at=_STAMP,
    ),
    "UserList": items_of("User", next_cursor=_NEXT),
    "Group": obj("id name", id=_INT, name=_STR, members={"type": "array", "items": _INT}),
    "GroupList": items_of("Group"),
    "Settings": obj(
        "",
        "Workspace settings; PATCH checks every key before storing any",
        title=_NULL_STR,
        timezone=_STR,
        lang=_STR,
        fold_yo=_BOOL,
        managers_change_rights=_BOOL,
        show_emails=_BOOL,
    ),
    "SmtpSettings": obj(
        "", host=_NULL_STR, port=_INT, security=_STR, has_password=_BOOL, **{"from": _NULL_STR}
    ),
    "RateLimits": obj(
        "enabled per_account per_address",
        enabled=_BOOL,
        per_account=_STR,
        per_address=_STR,
        accounts={"type": "object", "additionalProperties": _STR},
    ),
    "SecurityEvent": obj(
        "id at event",
        id=_INT,
        at=_STAMP,
        event=_STR,
        user_id={"type": ["integer", "null"]},
        email=_NULL_STR,
        address=_NULL_STR,
        detail=_NULL_OBJ,
    ),
    "SecurityLog": items_of("SecurityEvent", next_cursor=_NEXT),
    "Notice": obj(
        "id at level kind title",
        id=_INT,
        at=_STAMP,
        level=_STR,
        kind=_STR,
        title=_STR,
        message=_NULL_STR,
        data=_NULL_OBJ,
        read_at=_NULL_STAMP,
        read_by={"type": ["integer", "null"]},
        user_id={"type": ["integer", "null"]},
    ),
    "NoticeList": items_of("Notice", unread=_INT, next_before=_BEFORE),
    "NoticesMarked": obj("marked", marked=_INT),
    "Webhook": obj(
        "id url kind",
        id=_INT,
        url=_STR,
        catalog=_NULL_STR,
        kind={"type": "string", "enum": ["notify", "request", "action"]},
        events={"type": "array", "items": _STR},
        fields={"type": "array", "items": _STR},
        filter=_NULL_OBJ,
        active=_BOOL,
        on_timeout=_STR,
        ordered=_BOOL,
        batch_size=_INT,
        secret={"type": "string", "description": "shown once, when created or rotated"},
        disabled_reason={
            "type": ["string", "null"],
            "description": "why the webhook was switched off, in English",
        },
        disabled_reason_code={
            "type": ["string", "null"],
            "description": "its message code (webhook_disabled_gone, webhook_disabled_failing); "
            "null for webhooks switched off before codes existed",
        },
        disabled_reason_params={
            "type": ["object", "null"],
            "description": "the code's parameters",
        },
        failing_since=_NULL_STAMP,
        last_success_at=_NULL_STAMP,
    ),
    "WebhookList": items_of("Webhook"),
    "Delivery": obj(
        "id status attempts",
        id=_INT,
        webhook_msg_id=_STR,
        event_seq=_INT,
        status=_STR,
        attempts=_INT,
        next_attempt_at=_NULL_STAMP,
        last_status={"type": ["integer", "null"]},
        last_error={
            "type": ["string", "null"],
            "description": "why the last attempt failed (or why the delivery was skipped), "
            "in the Accept-Language",
        },
        last_error_code={"type": ["string", "null"], "description": "its message code"},
        last_error_params={"type": ["object", "null"], "description": "the code's parameters"},
        last_error_detail={
            "type": ["string", "null"],
            "description": "the English protocol detail (e.g. 'Connection refused')",
        },
        created_at=_STAMP,
        updated_at=_STAMP,
        log={"type": "array", "items": _OBJ},
    ),
    "DeliveryList": items_of("Delivery", next_cursor=_NEXT),
    "Replay": obj(
        "webhook_id from_sequence to_sequence",
        webhook_id=_INT,
        from_sequence=_INT,
        to_sequence=_INT,
        requeued=_INT,
        created=_INT,
        pending=_INT,
        unchanged=_INT,
        skipped=_INT,
    ),
    "WebhookTest": obj(
        "webhook_id ok",
        webhook_id=_INT,
        ok=_BOOL,
        request_body=_NULL_STR,
        response_status={"type": ["integer", "null"]},
        response_body=_NULL_STR,
        error=_NULL_STR,
        failure={
            "type": ["string", "null"],
            "enum": ["refused", "timeout", "network", None],
            "description": "why no answer came: the address guard refused the URL, "
            "the receiver did not answer in time, or the connection failed",
        },
        duration_ms={"type": ["integer", "number"]},
    ),
    "ImportStarted": obj("id", id=_INT),
    "ImportPreview": obj(
        "kind headers rows",
        "What the file holds, as read, and a suggested mapping; nothing is stored",
        catalog=_CATALOG_REF,
        kind=_STR,
        encoding=_NULL_STR,
        delimiter=_NULL_STR,
        headers={"type": "array", "items": _STR},
        rows={"type": "array", "items": {"type": "array"}},
        suggested={"type": "object", "additionalProperties": _NULL_STR},
        fields={"type": "array", "items": _OBJ},
    ),
    "OpenAPIDocument": obj(
        "openapi paths components",
        "An OpenAPI 3.1 document typing each catalog the caller may see",
        openapi=_STR,
        paths=_OBJ,
        components=_OBJ,
    ),
    "ImportJob": obj(
        "id status",
        id=_INT,
        catalog_id=_INT,
        status=_STR,
        processed=_INT,
        total={"type": ["integer", "null"]},
        created=_INT,
        updated=_INT,
        unchanged=_INT,
        errors=_INT,
        error_sample={
            "type": "array",
            "items": obj(
                "message",
                line={"type": ["integer", "null"]},
                column=_NULL_STR,
                value={},
                message={"type": "string", "description": "in the Accept-Language"},
                code={"type": "string", "description": "the reason's code, where known"},
                params=_OBJ,
            ),
        },
    ),
    "CatalogRights": obj(
        "groups",
        groups={
            "type": "object",
            "description": "group id -> its rights on the catalog",
            "additionalProperties": obj(
                "",
                view={"type": ["boolean", "object"]},
                create=_BOOL,
                edit={"type": ["boolean", "object"]},
                delete={"type": ["boolean", "object"]},
                manage=_BOOL,
                fields={"type": "object", "additionalProperties": _STR},
                reveal={"type": "array"},
            ),
        },
    ),
    "Share": obj("user", user={"$ref": REF + "UserRef"}, edit=_BOOL),
    "ShareList": items_of("Share"),
    "Revealed": obj("field value", field=_STR, value={}),
    "HistoryEntry": obj(
        "id at action",
        id=_INT,
        at=_STAMP,
        user=_USER_REF,
        action={
            "type": "string",
            "enum": ["create", "update", "delete", "import", "merge", "merged"],
            "description": "import: a create that kept the file's dates and authors; merge: "
            "other records were merged into this one; merged: this one was merged into another",
        },
        changes={"type": ["object", "null"]},
    ),
    "History": items_of("HistoryEntry", next_cursor=_NEXT, next_before=_BEFORE),
    "Comment": obj("id at text", id=_INT, at=_STAMP, user=_USER_REF, text=_STR),
    "CommentList": items_of("Comment", next_cursor=_NEXT),
    "RelatedGroup": obj(
        "catalog field items",
        catalog=_CATALOG_REF,
        field=obj("api_name", id=_INT, api_name=_STR, name=_STR),
        items={"type": "array", "items": obj("id", id=_INT, title=_NULL_STR)},
    ),
    "Related": items_of("RelatedGroup"),
    "Choice": obj("id", id=_INT, title=_NULL_STR, label=_STR),
    "ChoiceList": items_of("Choice", next_cursor=_NEXT),
    "Editing": obj(
        "values",
        "What an action webhook answered: values to fill in and a message to show",
        message=_NULL_STR,
        values=_OBJ,
    ),
    "SearchHit": obj(
        "catalog record",
        catalog=_CATALOG_REF,
        record={"$ref": REF + "Record"},
        rank={"type": "number"},
        snippets=_OBJ,
    ),
    "SearchResults": items_of(
        "SearchHit",
        counts={
            "type": "object",
            "additionalProperties": _INT,
            "description": "records the caller may open, per catalog; 100 means 100 or more",
        },
        next_cursor=_NEXT,
    ),
    "File": obj(
        "id name size",
        id=_INT,
        name=_STR,
        size=_INT,
        mime=_STR,
        url=_STR,
        thumbnail_url=_NULL_STR,
    ),
    "Scenario": obj(
        "id name active version trigger steps",
        id=_INT,
        name=_STR,
        description=_NULL_STR,
        active=_BOOL,
        version=_INT,
        trigger=obj("type", type=_STR),
        steps={"type": "array", "items": obj("type", type=_STR)},
        options=_OBJ,
        has_token=_BOOL,
        next_fire_at=_NULL_STAMP,
        created_at=_STAMP,
        updated_at=_STAMP,
    ),
    "ScenarioList": items_of("Scenario"),
    "ScenarioFile": obj(
        "kartoteka_scenario name trigger steps",
        "A scenario as a file: POST it to /scenarios/import",
        kartoteka_scenario={"type": "integer", "description": "the file format's version"},
        name=_STR,
        trigger=_OBJ,
        steps={"type": "array"},
        active=_BOOL,
        options=_OBJ,
    ),
    "ScenarioVersion": obj(
        "version definition",
        version=_INT,
        created_at=_STAMP,
        created_by={"type": ["integer", "null"]},
        definition=_OBJ,
    ),
    "ScenarioVersions": items_of("ScenarioVersion"),
    "ScenarioToken": obj("id token", id=_INT, token=_STR),
    "Run": obj(
        "id scenario_id version status",
        id=_INT,
        scenario_id=_INT,
        version=_INT,
        status=_STR,
        test=_BOOL,
        trigger=_OBJ,
        record={"type": ["object", "null"]},
        vars=_OBJ,
        depth=_INT,
        error={
            "type": ["object", "string", "null"],
            "description": "why it failed or was skipped, in Accept-Language",
        },
        error_code=_ERROR_CODE,
        error_params=_ERROR_PARAMS,
        due_at=_NULL_STAMP,
        created_at=_STAMP,
        started_at=_NULL_STAMP,
        finished_at=_NULL_STAMP,
        steps={"type": "array", "items": _OBJ},
        duration_ms={"type": "integer", "description": "its steps' time (lists with steps=false)"},
    ),
    "RunList": items_of("Run", next_before=_BEFORE),
    "RunStarted": obj("run_id", run_id=_INT),
    "RunStatus": obj(
        "id status",
        "Where a run is: what its starter (a record card's run button) may read",
        id=_INT,
        status={
            "type": "string",
            "enum": ["queued", "running", "waiting", "done", "failed", "cancelled", "skipped"],
        },
        error={"type": ["string", "null"], "description": "why it failed, in Accept-Language"},
        error_code=_ERROR_CODE,
        error_params=_ERROR_PARAMS,
        finished_at=_NULL_STAMP,
    ),
    "Process": obj(
        "catalog field transitions",
        catalog=_STR,
        field=_STR,
        initial={"type": "array", "items": _STR},
        **{"required": {"type": "object"}},
        transitions={"type": "array", "items": obj("from to", **{"from": _STR, "to": _STR})},
        approvals=_OBJ,
    ),
    "ProcessList": items_of("Process"),
}

#: (method, path under /api/v1) -> schema of the success answer.
SUCCESS: dict[tuple[str, str], str] = {
    ("get", "/catalogs/{catalog}/views"): "ViewList",
    ("post", "/catalogs/{catalog}/views"): "View",
    ("get", "/catalogs/{catalog}/views/{view_id}"): "View",
    ("patch", "/catalogs/{catalog}/views/{view_id}"): "View",
    ("post", "/auth/login"): "Login",
    ("get", "/auth/me"): "Me",
    ("get", "/auth/tokens"): "TokenList",
    ("post", "/auth/tokens"): "Token",
    ("post", "/auth/totp/setup"): "Totp",
    ("post", "/auth/totp/enable"): "Totp",
    ("post", "/auth/totp/disable"): "Totp",
    ("get", "/users"): "UserList",
    ("post", "/users"): "User",
    ("get", "/users/{user_id}"): "User",
    ("patch", "/users/{user_id}"): "User",
    ("get", "/groups"): "GroupList",
    ("post", "/groups"): "Group",
    ("get", "/groups/{group_id}"): "Group",
    ("patch", "/groups/{group_id}"): "Group",
    ("get", "/settings"): "Settings",
    ("patch", "/settings"): "Settings",
    ("get", "/settings/smtp"): "SmtpSettings",
    ("put", "/settings/smtp"): "SmtpSettings",
    ("get", "/security/log"): "SecurityLog",
    ("get", "/security/rate-limits"): "RateLimits",
    ("put", "/security/rate-limits"): "RateLimits",
    ("get", "/notices"): "NoticeList",
    ("post", "/notices/read"): "NoticesMarked",
    ("post", "/notices/{notice_id}/read"): "Notice",
    ("get", "/webhooks"): "WebhookList",
    ("post", "/webhooks"): "Webhook",
    ("get", "/webhooks/{webhook_id}"): "Webhook",
    ("patch", "/webhooks/{webhook_id}"): "Webhook",
    ("post", "/webhooks/{webhook_id}/rotate-secret"): "Webhook",
    ("get", "/webhooks/{webhook_id}/deliveries"): "DeliveryList",
    ("post", "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): "Delivery",
    ("post", "/webhooks/{webhook_id}/replay"): "Replay",
    ("post", "/webhooks/{webhook_id}/test"): "WebhookTest",
    ("post", "/catalogs/{catalog}/imports"): "ImportStarted",
    ("get", "/imports/{job_id}"): "ImportJob",
    ("post", "/catalogs/{catalog}/imports/preview"): "ImportPreview",
    ("get", "/openapi/catalogs.json"): "OpenAPIDocument",
    ("post", "/imports/{job_id}/cancel"): "ImportJob",
    ("post", "/imports/{job_id}/resume"): "ImportJob",
    ("get", "/catalogs/{catalog}/rights"): "CatalogRights",
    ("put", "/catalogs/{catalog}/rights"): "CatalogRights",
    ("get", "/catalogs/{catalog}/records/{record_id}/shares"): "ShareList",
    ("post", "/catalogs/{catalog}/records/{record_id}/shares"): "ShareList",
    ("post", "/catalogs/{catalog}/records/{record_id}/reveal/{field}"): "Revealed",
    ("get", "/catalogs/{catalog}/records/{record_id}/history"): "History",
    ("get", "/catalogs/{catalog}/records/{record_id}/comments"): "CommentList",
    ("post", "/catalogs/{catalog}/records/{record_id}/comments"): "Comment",
    ("get", "/catalogs/{catalog}/records/{record_id}/related"): "Related",
    ("get", "/catalogs/{catalog}/fields/{field}/choices"): "ChoiceList",
    ("post", "/catalogs/{catalog}/records/editing"): "Editing",
    ("post", "/catalogs/{catalog}/records/{record_id}/editing"): "Editing",
    ("get", "/search"): "SearchResults",
    ("post", "/files"): "File",
    ("get", "/scenarios"): "ScenarioList",
    ("post", "/scenarios"): "Scenario",
    ("post", "/scenarios/import"): "Scenario",
    ("get", "/scenarios/{scenario_id}"): "Scenario",
    ("patch", "/scenarios/{scenario_id}"): "Scenario",
    ("get", "/scenarios/{scenario_id}/versions"): "ScenarioVersions",
    ("get", "/scenarios/{scenario_id}/export"): "ScenarioFile",
    ("post", "/scenarios/{scenario_id}/token"): "ScenarioToken",
    ("post", "/scenarios/{scenario_id}/run"): "Run",
    ("post", "/scenarios/{scenario_id}/trigger"): "RunStarted",
    ("get", "/scenarios/{scenario_id}/runs"): "RunList",
    ("get", "/scenarios/{scenario_id}/runs/{run_id}"): "Run",
    ("get", "/scenarios/{scenario_id}/runs/{run_id}/status"): "RunStatus",
    ("post", "/scenarios/{scenario_id}/runs/{run_id}/retry"): "Run",
    ("post", "/scenarios/{scenario_id}/runs/{run_id}/cancel"): "Run",
    ("get", "/processes"): "ProcessList",
    ("put", "/processes/{catalog}/{field}"): "Process",
}
SCHEMAS.update(openapi_duplicates.SCHEMAS)
SUCCESS.update(openapi_duplicates.SUCCESS)

_BINARY = {"schema": {"type": "string", "format": "binary"}}
# Text files are text to a generated client (openapi-python-client reads text/* as str,
# and a binary schema there makes it wrap a str in BytesIO).
_TEXT = {"schema": {"type": "string"}}
#: (method, path under /api/v1) -> the media types of a success answer that is a file.
FILES: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/files/{file_id}"): {"application/octet-stream": _BINARY},
    ("get", "/imports/{job_id}/errors"): {"text/csv": _TEXT},
    ("get", "/files/{file_id}/thumbnail"): {"image/png": _BINARY, "image/jpeg": _BINARY},
    ("get", "/catalogs/{catalog}/export"): {
        media.split(";")[0]: _TEXT if media.startswith("text/") else _BINARY
        for media in exporter.FORMATS.values()
    },
}
