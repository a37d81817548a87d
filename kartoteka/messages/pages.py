"""Messages of the web pages' own refusals (addresses, administration, form parsing)."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "admin_pages_only": "only administrators open the administration pages",
    "page_item_not_found": "{ref!r} not found",
    "page_not_found": "no such page",
    "rights_system_catalog": "the platform's own catalogs have no rights to design",
    "import_wizard_forbidden": "you may not import into catalog {catalog!r}",
    "amount_not_number": "{field}: not a number (type it like 1,234.56)",
    "amount_decimals": "{field}: at most {max} digits after the point",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "admin_pages_only": "страницы администрирования открывают только администраторы",
    "page_item_not_found": "«{ref}» не найдено",
    "page_not_found": "такой страницы нет",
    "rights_system_catalog": "у собственных каталогов платформы нет настраиваемых прав",
    "import_wizard_forbidden": "вам нельзя импортировать в каталог «{catalog}»",
    "amount_not_number": "«{field}»: не число (введите, например, 1 234,56)",
    "amount_decimals": "«{field}»: не более {max} знаков после запятой",
}
