"""The platform's own tables inside every workspace database (versioned by Alembic).

Catalog tables (`c<id>`) are not here: they are created at run time by `dynamic.py`.
Past 500 lines on purpose: one declaration per table, all of a workspace's in one place
beside the migrations that make them; a split by area would only scatter the list.
"""

from __future__ import annotations

import sqlalchemy as sa

from .types import JSONText

metadata = sa.MetaData()

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", JSONText),
)

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200)),
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("profile", JSONText, nullable=False, default=dict),
    sa.Column("lang", sa.String(10)),
    sa.Column("auth_epoch", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # Base32 TOTP secret; "pending:" + secret between setup and enable (migration 0005).
    sa.Column("totp_secret", sa.String(120)),
    # The last TOTP time step accepted: a code is good once (migration 0011).
    sa.Column("totp_last_step", sa.BigInteger()),
    sqlite_autoincrement=True,
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sqlite_autoincrement=True,
)

user_groups = sa.Table(
    "user_groups",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Index("ix_user_groups_group", "group_id"),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # session | api
    sa.Column("name", sa.String(200)),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("csrf", sa.String(64)),
    sa.Column("scopes", JSONText),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime),
    sa.Column("last_used_at", sa.DateTime),
    sa.Index("ix_tokens_user", "user_id"),
    sqlite_autoincrement=True,
)

catalogs = sa.Table(
    "catalogs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("api_name", sa.String(100), nullable=False, unique=True),
    sa.Column("title_field_id", sa.Integer),
    sa.Column("position", sa.Integer, nullable=False, default=0),
    sa.Column("options", JSONText, nullable=False, default=dict),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sqlite_autoincrement=True,
)

fields = sa.Table(
    "fields",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "catalog_id", sa.Integer, sa.ForeignKey("catalogs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("api_name", sa.String(100), nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("column_name", sa.String(40)),
    sa.Column("required", sa.Boolean, nullable=False, default=False),
    sa.Column("is_unique", sa.Boolean, nullable=False, default=False),
    sa.Column("indexed", sa.Boolean, nullable=False, default=False),
    sa.Column("options", JSONText, nullable=False, default=dict),
    sa.Column("position", sa.Integer, nullable=False, default=0),
    sa.UniqueConstraint("catalog_id", "api_name", name="uq_fields_catalog_api_name"),
    sqlite_autoincrement=True,
)

links = sa.Table(
    "links",
    metadata,
    sa.Column("field_id", sa.Integer, primary_key=True),
    sa.Column("src_id", sa.BigInteger, primary_key=True),
    sa.Column("dst_id", sa.BigInteger, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False, default=0),
    sa.Index("ix_links_dst", "field_id", "dst_id"),
)

history = sa.Table(
    "history",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("catalog_id", sa.Integer, nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("user_id", sa.Integer),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("changes", JSONText, nullable=False),
    sa.Index("ix_history_record", "catalog_id", "record_id", "id"),
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("catalog_id", sa.Integer, nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("user_id", sa.Integer),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Index("ix_comments_record", "catalog_id", "record_id", "id"),
    sqlite_autoincrement=True,
)

views = sa.Table(
    "views",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "catalog_id", sa.Integer, sa.ForeignKey("catalogs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("filter", JSONText),
    sa.Column("sort", JSONText),
    sa.Column("fields", JSONText),
    sa.Column("options", JSONText, nullable=False, default=dict),
    sa.Column("position", sa.Integer, nullable=False, default=0),
    sa.Column("created_by", sa.Integer),
    sqlite_autoincrement=True,
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mime", sa.String(200), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("storage_key", sa.String(300), nullable=False),
    sa.Column("uploaded_by", sa.Integer),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("catalog_id", sa.Integer),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("field_id", sa.Integer),
    # Set when the file left its record's value (the record, field and catalog ids stay,
    # so history can put it back and reading it follows that record's rights);
    # `files.service.collect_garbage` deletes it once nothing can reference it.
    sa.Column("detached_at", sa.DateTime),
    sa.Index("ix_files_record", "catalog_id", "record_id"),
    sqlite_autoincrement=True,
)

events = sa.Table(
    "events",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("type", sa.String(60), nullable=False),
    sa.Column("catalog_id", sa.Integer),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("user_id", sa.Integer),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("payload", JSONText, nullable=False),
    # Loop protection (migration 0007): the chain of webhook ids whose deliveries led to
    # the change ('7-12', oldest first) and its length.
    sa.Column("cause", sa.String(300)),
    sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
    # The X-Request-ID of the API request that made the change (migration 0013).
    sa.Column("request_id", sa.String(128)),
)

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("catalog_id", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # queued|running|done|failed|interrupted
    sa.Column("options", JSONText, nullable=False, default=dict),
    sa.Column("processed", sa.Integer, nullable=False, default=0),
    sa.Column("total", sa.Integer),
    sa.Column("created", sa.Integer, nullable=False, default=0),
    sa.Column("updated", sa.Integer, nullable=False, default=0),
    sa.Column("unchanged", sa.Integer, nullable=False, default=0),
    sa.Column("errors", sa.Integer, nullable=False, default=0),
    sa.Column("error_sample", JSONText, nullable=False, default=list),
    sa.Column("created_by", sa.Integer),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    # Migration 0008: which process runs the job, and when it last said so.
    sa.Column("owner", sa.String(200)),
    sa.Column("heartbeat_at", sa.DateTime),
    # Migration 0014: resuming from the last committed chunk (see importer/jobs.py).
    sa.Column("resume_line", sa.Integer),
    sa.Column("source_path", sa.String(1000)),
    sa.Column("filename", sa.String(255)),
    sa.Column("message", sa.Text),
    sa.Column("headers", JSONText),
    sqlite_autoincrement=True,
)

#: Records an import wrote whose full-text index rows are still to be made (migration
#: 0014): the worker, or the next search of the catalog, catches up.
search_pending = sa.Table(
    "search_pending",
    metadata,
    sa.Column("catalog_id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.BigInteger, primary_key=True),
)

#: Duplicate rules of a catalog (migration 0015): `fields` is a list of
#: {"field": field id, "normalise": "phone" | "email" | "name" | "digits" | "exact"}.
duplicate_rules = sa.Table(
    "duplicate_rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("catalog_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("fields", JSONText, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.Integer),
    sa.Index("ix_duplicate_rules_catalog", "catalog_id"),
    sqlite_autoincrement=True,
)

#: One normalised key per (rule, record) whose rule fields all have a value: the check
#: on a write is one indexed lookup, a scan one GROUP BY over the index.
duplicate_keys = sa.Table(
    "duplicate_keys",
    metadata,
    sa.Column("rule_id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.BigInteger, primary_key=True),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Index("ix_duplicate_keys_key", "rule_id", "key", "record_id"),
)

#: Every row an import refused: the file's cells and why (the job's error file).
import_errors = sa.Table(
    "import_errors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.Integer, nullable=False),
    sa.Column("line", sa.Integer),
    sa.Column("column_name", sa.String(255)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("cells", JSONText),
    sa.Index("ix_import_errors_job", "job_id", "id"),
    sqlite_autoincrement=True,
)

# ----- webhooks and outbox consumers (migration 0003) -----------------------------------
webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column(
        "catalog_id", sa.Integer, sa.ForeignKey("catalogs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String(20), nullable=False),  # notify | request | action
    sa.Column("events", JSONText, nullable=False),
    sa.Column("fields", JSONText, nullable=False),
    sa.Column("filter", JSONText),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("on_timeout", sa.String(10), nullable=False, default="reject"),
    sa.Column("ordered", sa.Boolean, nullable=False, default=False),
    # Migration 0009: events per notify message (1: one message per event).
    sa.Column("batch_size", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("start_seq", sa.BigInteger, nullable=False, default=0),
    # Why the webhook was switched off, in English (the API's `disabled_reason`); the code
    # and parameters beside it (migration 0020) give the reader's language
    # (messages/webhooks.py). Webhooks switched off before 0020 have the text alone.
    sa.Column("disabled_reason", sa.String(300)),
    sa.Column("disabled_reason_code", sa.String(60)),
    sa.Column("disabled_reason_params", JSONText),
    # Kept by the maintenance pass (migration 0006): the start of the current run of
    # failed attempts and the last 2xx, remembered after the attempts are pruned.
    sa.Column("failing_since", sa.DateTime),
    sa.Column("last_success_at", sa.DateTime),
    sa.Column("created_by", sa.Integer),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    # Who changed the webhook last: webhooks are records of the `webhooks` catalog (0007).
    sa.Column("updated_by", sa.Integer),
    sa.Index("ix_webhooks_catalog", "catalog_id", "kind"),
    sqlite_autoincrement=True,
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column(
        "webhook_id", sa.Integer, sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("event_seq", sa.BigInteger, nullable=False),
    sa.Column("webhook_msg_id", sa.String(100), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # pending | done | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime),
    sa.Column("last_status", sa.Integer),
    # The English protocol detail ("Connection refused"); the code and parameters beside
    # it (migration 0018) give the reader's language (messages/webhooks.py).
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_code", sa.String(60)),
    sa.Column("last_error_params", JSONText),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    # Sent as X-Request-ID: the request behind the event (migration 0013).
    sa.Column("request_id", sa.String(128)),
    sa.UniqueConstraint("webhook_id", "event_seq", name="uq_webhook_deliveries_event"),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    # Maintenance: last success, failing streaks and pruning by age, per webhook (0006).
    sa.Index("ix_webhook_deliveries_age", "webhook_id", "status", "updated_at"),
    sqlite_autoincrement=True,
)

delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column(
        "delivery_id",
        sa.BigInteger,
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("request_body", sa.Text, nullable=False),
    sa.Column("response_status", sa.Integer),
    sa.Column("response_body", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("error_code", sa.String(60)),
    sa.Column("error_params", JSONText),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Index("ix_delivery_attempts_delivery", "delivery_id", "attempt"),
    sqlite_autoincrement=True,
)

outbox_cursor = sa.Table(
    "outbox_cursor",
    metadata,
    sa.Column("consumer", sa.String(100), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

catalog_rights = sa.Table(
    "catalog_rights",
    metadata,
    sa.Column("catalog_id", sa.Integer, primary_key=True),
    sa.Column("group_id", sa.Integer, primary_key=True),
    sa.Column("rights", JSONText, nullable=False),
)

record_shares = sa.Table(
    "record_shares",
    metadata,
    sa.Column("catalog_id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.BigInteger, primary_key=True),
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("can_edit", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.Integer),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_record_shares_user", "user_id", "catalog_id"),
)

security_log = sa.Table(
    "security_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("user_id", sa.Integer),
    sa.Column("email", sa.String(320)),
    sa.Column("address", sa.String(100)),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("detail", JSONText, nullable=False),
    sa.Index("ix_security_log_event", "event", "id"),
    sa.Index("ix_security_log_user", "user_id", "id"),
    sqlite_autoincrement=True,
)

# ----- notices to administrators (migration 0006) ---------------------------------------
notices = sa.Table(
    "notices",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("level", sa.String(10), nullable=False),  # info | warning | error
    sa.Column("kind", sa.String(60), nullable=False),  # e.g. webhook.disabled
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("data", JSONText, nullable=False),
    sa.Column("read_at", sa.DateTime),
    sa.Column("read_by", sa.Integer),
    # Migration 0010: a notice for one user (scenario `notify` steps); NULL: administrators.
    sa.Column("user_id", sa.Integer),
    sa.Index("ix_notices_read", "read_at", "id"),
    sa.Index("ix_notices_user", "user_id", "read_at"),
    sqlite_autoincrement=True,
)

# ----- scenarios (migration 0010) -------------------------------------------------------
scenarios = sa.Table(
    "scenarios",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    # The current version; runs keep the version they started with (scenario_versions).
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("trigger_type", sa.String(30), nullable=False),
    sa.Column("catalog_id", sa.Integer),
    sa.Column("definition", JSONText, nullable=False),
    # SHA-256 of the incoming-call token (trigger type `webhook`).
    sa.Column("token_hash", sa.String(64)),
    # Events up to this number never trigger the scenario (it did not exist yet).
    sa.Column("start_seq", sa.BigInteger, nullable=False, default=0),
    # Timers: the next cron moment (schedule), how far date triggers have been checked.
    sa.Column("next_fire_at", sa.DateTime),
    sa.Column("checked_until", sa.DateTime),
    # Outgoing HTTP rate limit: the earliest moment of the next call (shared by workers).
    sa.Column("http_next_at", sa.DateTime),
    sa.Column("created_by", sa.Integer),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_by", sa.Integer),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("ix_scenarios_trigger", "trigger_type", "active"),
    sqlite_autoincrement=True,
)

scenario_versions = sa.Table(
    "scenario_versions",
    metadata,
    sa.Column(
        "scenario_id",
        sa.Integer,
        sa.ForeignKey("scenarios.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("definition", JSONText, nullable=False),
    sa.Column("created_by", sa.Integer),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

scenario_runs = sa.Table(
    "scenario_runs",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column(
        "scenario_id", sa.Integer, sa.ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("version", sa.Integer, nullable=False),
    # queued | running | waiting | done | failed | cancelled | skipped
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("test", sa.Boolean, nullable=False, default=False),
    # What started the run, unique per scenario: `e<seq>` for an event, a cron moment...
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("trigger", JSONText, nullable=False),
    sa.Column("catalog_id", sa.Integer),
    sa.Column("record_id", sa.BigInteger),
    # Program counter, variables, step outputs, loop stack (see scenarios/engine.py).
    sa.Column("state", JSONText, nullable=False),
    sa.Column("depth", sa.Integer, nullable=False, default=0),
    sa.Column("cause", sa.String(300)),
    sa.Column("parent_run_id", sa.BigInteger),
    # When the run may go on (queued: now; waiting: the wait's due time).
    sa.Column("due_at", sa.DateTime),
    sa.Column("owner", sa.String(100)),
    sa.Column("lease_until", sa.DateTime),
    # A wait for a record to match a filter is woken by that record's events.
    sa.Column("watch_catalog_id", sa.Integer),
    sa.Column("watch_record_id", sa.BigInteger),
    sa.Column("steps_done", sa.Integer, nullable=False, default=0),
    # Why it failed or was skipped: the English text, and its code and parameters
    # (messages/scenarios.py, `run_*`) so a reader sees it in their language.
    sa.Column("error", sa.Text),
    sa.Column("error_code", sa.String(60)),
    sa.Column("error_params", JSONText),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("started_at", sa.DateTime),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("scenario_id", "key", name="uq_scenario_runs_key"),
    sa.Index("ix_scenario_runs_due", "status", "due_at"),
    sa.Index("ix_scenario_runs_scenario", "scenario_id", "id"),
    sa.Index("ix_scenario_runs_watch", "watch_catalog_id", "watch_record_id"),
    sa.Index("ix_scenario_runs_finished", "finished_at"),
    sqlite_autoincrement=True,
)

scenario_steps = sa.Table(
    "scenario_steps",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column(
        "run_id",
        sa.BigInteger,
        sa.ForeignKey("scenario_runs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # The n-th step the run executed (1, 2, ...): unique, so a replayed step is refused.
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("pc", sa.Integer, nullable=False),
    sa.Column("step_id", sa.String(100)),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # done | failed | waiting | recorded
    sa.Column("attempt", sa.Integer, nullable=False, default=1),
    sa.Column("input", JSONText),
    sa.Column("output", JSONText),
    # The English text of a failure, and its code and parameters (messages/scenarios.py)
    # so a reader sees it in their language; no code for steps of older versions.
    sa.Column("error", sa.Text),
    sa.Column("error_code", sa.String(60)),
    sa.Column("error_params", JSONText),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False, default=0),
    sa.UniqueConstraint("run_id", "n", name="uq_scenario_steps_n"),
    sqlite_autoincrement=True,
)
