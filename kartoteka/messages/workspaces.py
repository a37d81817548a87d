"""Messages of workspaces, their backups, exports and the administrators' notices."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "workspace_name": (
        "invalid workspace name (1-63 characters: lower-case latin letters, digits, '-' and "
        "'_', starting with a letter)"
    ),
    "workspace_not_found": "workspace {name!r} does not exist",
    "workspace_exists": "workspace {name!r} already exists",
    "workspace_exists_force": "workspace {name!r} exists; use --force to replace it",
    "workspaces_home_only": "workspaces are managed from the default workspace",
    "backup_not_ours": "not a Kartoteka backup (manifest.json missing or unreadable)",
    "backup_version": "unsupported backup version {version!r}",
    "backup_dialect": "this backup comes from {dialect}; restore it into a {dialect} instance",
    "backup_member": "backup is missing {name}",
    "backup_unsafe_path": "unsafe path in backup: {name}",
    "notices_admin_only": "only administrators read notices",
    "notice_not_found": "notice {id} not found",
    "export_encoding": "must be utf-8 or windows-1251 (cp1251)",
    "export_delimiter": "must be ',', ';' or 'tab'",
    "export_csv_only": "applies to csv only",
    "export_user_unknown": "no user {user!r}",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "workspace_name": (
        "недопустимое имя пространства (1–63 символа: строчные латинские буквы, цифры, «-» и "
        "«_», первая — буква)"
    ),
    "workspace_not_found": "пространства «{name}» нет",
    "workspace_exists": "пространство «{name}» уже есть",
    "workspace_exists_force": "пространство «{name}» уже есть; чтобы заменить, добавьте --force",
    "workspaces_home_only": "пространствами управляют из пространства по умолчанию",
    "backup_not_ours": "это не резервная копия Картотеки (manifest.json нет или он не читается)",
    "backup_version": "неподдерживаемая версия резервной копии: {version}",
    "backup_dialect": "эта резервная копия из {dialect}; восстанавливайте её на сервер с {dialect}",
    "backup_member": "в резервной копии нет {name}",
    "backup_unsafe_path": "небезопасный путь в резервной копии: {name}",
    "notices_admin_only": "уведомления читают только администраторы",
    "notice_not_found": "уведомление {id} не найдено",
    "export_encoding": "допустимо utf-8 или windows-1251 (cp1251)",
    "export_delimiter": "допустимо «,», «;» или «tab»",
    "export_csv_only": "только для csv",
    "export_user_unknown": "нет пользователя «{user}»",
}
