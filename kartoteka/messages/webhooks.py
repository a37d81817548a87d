"""Messages of webhooks: their definitions, deliveries, replays, request and action calls."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "webhooks_admin_only": "only administrators may manage webhooks",
    "webhook_url_required": "required: an http(s) URL",
    "webhook_url_absolute": "must be an absolute http:// or https:// URL",
    "host_unresolved": "host {host!r} does not resolve",
    "host_private": "host {host!r} resolves to the private address {address}; allowed only "
    "when KARTOTEKA_WEBHOOK_ALLOW_PRIVATE is set",
    "webhook_catalog_required": "required: a catalog api_name or id",
    "webhook_catalog_unknown": "unknown catalog {ref!r}",
    "webhook_events": "a non-empty list of: {allowed}",
    "webhook_event_kind": "{event!r} is not a {kind} event (use {allowed})",
    "webhook_fields": "a list of field api_names",
    "webhook_field_unknown": "unknown field {name!r} in catalog {catalog!r}",
    "webhook_batch_notify": "only notify webhooks group events into one message",
    "webhook_system_notify": "only notify on this catalog",
    "webhook_not_found": "webhook {id} not found",
    "delivery_not_found": "delivery {id} of webhook {webhook} not found",
    "webhook_inactive": "webhook {id} is not active; activate it first",
    "webhook_no_queue": "webhook {id} is a {kind} webhook; it has no queue",
    "replay_sequence": "required: an event sequence number (a positive integer)",
    "replay_order": "must not be smaller than from_sequence",
    "replay_range": "at most {max} sequences per replay; split the range",
    "replay_beyond": "beyond the last event of the workspace ({last})",
    "replay_status": "failed or done (omit it for both)",
    "action_body": 'the body must be {{"values": {{api_name: value}}}}',
    "request_hook_timeout": "the request webhook did not answer within {seconds} s",
    "request_hook_unreachable": "the request webhook could not be reached: {reason}",
    "request_hook_refused": "rejected by the request webhook",
    "request_hook_refused_status": "rejected by the request webhook (HTTP {status})",
    "delivery_gone": "the receiver answered 410 Gone: it asks not to be called again, so the "
    "webhook was switched off",
    "delivery_http_status": "the receiver did not accept the message (HTTP {status})",
    "delivery_timeout": "the receiver did not answer in time",
    "delivery_refused": "not sent: the address is in a private network or its name does not "
    "resolve",
    "delivery_network": "could not connect to the receiver",
    "delivery_skipped_own": "loop protection: the change was caused by this webhook's own "
    "deliveries",
    "delivery_skipped_depth": "loop protection: the change came from a chain of {depth} webhook "
    "deliveries (the limit, KARTOTEKA_WEBHOOK_MAX_DEPTH, is {limit})",
    "webhook_disabled_gone": "disabled after 410 Gone from {url}",
    "webhook_disabled_failing": "no successful delivery for {days} days (failing since {since}); "
    "last error: {reason}",
    "notice_webhook_disabled_title": "Webhook {webhook_id} was switched off",
    "notice_webhook_disabled": "Deliveries to {url} kept failing for {days} days (last error: "
    "{last_error}). Fix the receiver, turn the webhook back on and replay what it missed.",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "webhooks_admin_only": "вебхуками управляют только администраторы",
    "webhook_url_required": "обязательно: адрес http:// или https://",
    "webhook_url_absolute": "нужен полный адрес, начинающийся с http:// или https://",
    "host_unresolved": "хост {host!r} не найден (DNS)",
    "host_private": "хост {host!r} находится в частной сети ({address}); сначала "
    "администратор сервера должен разрешить частные адреса",
    "webhook_catalog_required": "выберите каталог",
    "webhook_catalog_unknown": "этого каталога больше нет",
    "webhook_events": "выберите хотя бы одно событие",
    "webhook_event_kind": "{event!r} — событие другого вида вебхука",
    "webhook_fields": "должно быть списком api_name полей",
    "webhook_field_unknown": "поля {name!r} больше нет",
    "webhook_batch_notify": "объединять события в одно сообщение умеют только вебхуки-уведомления",
    "webhook_system_notify": "этот каталог могут отслеживать только уведомляющие вебхуки",
    "webhook_not_found": "вебхук {id} не найден",
    "delivery_not_found": "отправка {id} вебхука {webhook} не найдена",
    "webhook_inactive": "вебхук {id} выключен; сначала включите его",
    "webhook_no_queue": "вебхук {id} вида {kind}: у него нет очереди",
    "replay_sequence": "номер события (целое число от 1)",
    "replay_order": "не может быть меньше первого",
    "replay_range": "не больше {max} событий за раз; разбейте диапазон",
    "replay_beyond": "дальше последнего события пространства ({last})",
    "replay_status": "failed или done (не указывайте, чтобы взять оба)",
    "action_body": 'тело запроса должно быть {{"values": {{api_name: значение}}}}',
    "request_hook_timeout": "проверочный вебхук не ответил за {seconds} с",
    "request_hook_unreachable": "проверочный вебхук недоступен: {reason}",
    "request_hook_refused": "запрет проверочного вебхука",
    "request_hook_refused_status": "запрет проверочного вебхука (HTTP {status})",
    "delivery_gone": "получатель ответил 410 Gone: он просит больше не присылать сообщения, "
    "поэтому вебхук выключен",
    "delivery_http_status": "получатель не принял сообщение (HTTP {status})",
    "delivery_timeout": "получатель не ответил вовремя",
    "delivery_refused": "не отправлено: адрес во внутренней сети или его имя не находится",
    "delivery_network": "не удалось соединиться с получателем",
    "delivery_skipped_own": "защита от петель: изменение вызвано сообщениями этого же вебхука",
    "delivery_skipped_depth": "защита от петель: изменение пришло по цепочке из {depth} "
    "сообщений вебхуков (предел KARTOTEKA_WEBHOOK_MAX_DEPTH — {limit})",
    "webhook_disabled_gone": "получатель {url} ответил 410 Gone — он просит больше "
    "не присылать сообщения",
    "webhook_disabled_failing": "ни одной успешной отправки за {days} дн. (ошибки с {since}); "
    "последняя ошибка: {reason}",
    "notice_webhook_disabled_title": "Вебхук {webhook_id} отключён",
    "notice_webhook_disabled": "Доставка на {url} не удавалась {days} дн. подряд (последняя "
    "ошибка: {last_error}). Исправьте приёмник, включите вебхук снова и повторите пропущенные "
    "события.",
}
