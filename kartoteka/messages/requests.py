"""Messages of the HTTP edge: credentials, CSRF, API token limits, request bodies."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "auth_required": "authentication required",
    "auth_scheme": "unsupported Authorization scheme (use Bearer or Basic)",
    "basic_malformed": "malformed Basic credentials",
    "csrf_missing": "missing or wrong CSRF token (send the X-CSRF-Token header)",
    "csrf_login": "a login posted by another site is refused",
    "csrf_password": "a password form posted by another site is refused",
    "token_read_only": "this API token is read-only",
    "token_scope_route": "this API token is limited to some catalogs and cannot do this",
    "token_scope_refused": "this API token is not allowed to use this catalog",
    "body_too_large": "request body exceeds {limit} bytes",
    "body_disconnected": "the client disconnected before the body was complete",
    "content_length": "malformed Content-Length",
    "json_body": "the body is not valid JSON: {reason}",
    "json_depth": "the JSON body is nested deeper than {max} levels",
    "nul_path": "NUL characters are not allowed in the path or query",
    "event_sequence": "an event sequence number (a non-negative integer below 10**18)",
    "limits_admin_only": "only administrators manage request limits",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "auth_required": "нужно войти",
    "auth_scheme": "неподдерживаемая схема Authorization (используйте Bearer или Basic)",
    "basic_malformed": "неверно составлены учётные данные Basic",
    "csrf_missing": "нет CSRF-токена или он неверен (передайте заголовок X-CSRF-Token)",
    "csrf_login": "вход, отправленный с другого сайта, отклонён",
    "csrf_password": "форма пароля, отправленная с другого сайта, отклонена",
    "token_read_only": "этот токен API только для чтения",
    "token_scope_route": "этот токен API ограничен некоторыми каталогами и не может этого",
    "token_scope_refused": "этот токен API не даёт доступа к этому каталогу",
    "body_too_large": "тело запроса больше {limit} байт",
    "body_disconnected": "клиент отключился, не передав тело запроса целиком",
    "content_length": "неверный заголовок Content-Length",
    "json_body": "тело запроса — не JSON: {reason}",
    "json_depth": "вложенность JSON глубже {max} уровней",
    "nul_path": "символ NUL в пути или параметрах запроса недопустим",
    "event_sequence": "номер события (целое неотрицательное число меньше 10**18)",
    "limits_admin_only": "лимиты запросов настраивают только администраторы",
}
