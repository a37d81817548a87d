"""Messages of rights: group rights on catalogs, record rules and record shares."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "rights_see_forbidden": "only administrators and catalog managers see rights",
    "rights_change_forbidden": "only administrators change rights",
    "rights_beyond_own": "group {group}: you may only grant or take away rights you hold yourself",
    "rule_no_view": "no such view",
    "rule_shape": 'true, false, a filter or {{"$view": id}}',
    "group_missing": "no such group",
    "share_forbidden": "only administrators and catalog managers share records",
    "share_no_user": "no such user",
    "share_not_found": "no such share",
    "catalog_forbidden": "you have no access to catalog {catalog!r}",
    "token_scope_catalog": "this API token does not reach catalog {catalog!r}",
    "rule_create_outside": "you may not create record {id} outside your access rule on {catalog!r}",
    "rule_move_outside": "you may not move record {id} outside your access rule on {catalog!r}",
    "match_forbidden": "you may not match records by field {name!r}",
}

#: code -> Russian template.
RU: dict[str, str] = {
    "rights_see_forbidden": "права видят только администраторы и управляющие каталогом",
    "rights_change_forbidden": "права меняют только администраторы",
    "rights_beyond_own": "группа {group}: давать и забирать можно только те права, "
    "которые есть у вас самих",
    "rule_no_view": "нет такого представления",
    "rule_shape": 'true, false, условие отбора или {{"$view": номер}}',
    "group_missing": "нет такой группы",
    "share_forbidden": "делиться записями могут только администраторы и управляющие каталогом",
    "share_no_user": "нет такого пользователя",
    "share_not_found": "нет такого доступа к записи",
    "catalog_forbidden": "у вас нет доступа к каталогу «{catalog}»",
    "token_scope_catalog": "этот токен API не даёт доступа к каталогу «{catalog}»",
    "rule_create_outside": "нельзя создать запись {id} вне вашего правила доступа к «{catalog}»",
    "rule_move_outside": "нельзя вывести запись {id} за пределы вашего правила доступа к "
    "«{catalog}»",
    "match_forbidden": "искать записи по полю «{name}» вам нельзя",
}
