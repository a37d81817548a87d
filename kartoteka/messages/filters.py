"""Messages of filters, sorts and cursors (list queries, saved views, record rules)."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "filter_unknown_field": "unknown field {name!r}",
    "masked_filter": "field {name!r} is masked for you; you may not filter by it",
    "masked_sort": "field {name!r} is masked for you; you may not sort by it",
    "filter_too_large": "filter is too large or too deeply nested",
    "filter_object": "each filter must be a non-empty object",
    "filter_list": "{key} takes a non-empty list of filters",
    "filter_operator": "operator {op!r} is not supported for {type} fields (use one of: {allowed})",
    "filter_self_editable": "rules may not use $user.{key}: users change it themselves",
    "filter_hop_not_link": "{link!r} is not a link field, so {key!r} cannot hop",
    "filter_hop_target": "the target of {link!r} no longer exists",
    "filter_hop_depth": "filters may go through one link only",
    "filter_too_long": "filter is too long",
    "filter_json": "not valid JSON ({reason})",
    "sort_too_long": "sort takes at most {max} comma-separated field names",
    "sort_empty_key": "empty sort key",
    "sort_unsortable": "cannot sort by {type} field {name!r}",
    "cursor_invalid": "invalid cursor (it belongs to another sort or was altered)",
    "operand_missing": "operator {op} needs a value",
    "operand_empty": "empty takes true or false",
    "operand_between": "between takes [from, to]",
    "operand_text": "{op} takes a non-empty string",
    "operand_list": "in/nin take a list",
    "operand_list_long": "at most {max} values in a list",
    "operator_unknown": "unknown operator {op}",
    "me_needs_user": '"me" needs a signed-in user',
}

#: code -> Russian template.
RU: dict[str, str] = {
    "filter_unknown_field": "неизвестное поле «{name}»",
    "masked_filter": "поле «{name}» для вас замаскировано; отбирать по нему нельзя",
    "masked_sort": "поле «{name}» для вас замаскировано; сортировать по нему нельзя",
    "filter_too_large": "фильтр слишком большой или слишком глубоко вложен",
    "filter_object": "каждое условие фильтра должно быть непустым объектом",
    "filter_list": "{key} принимает непустой список условий",
    "filter_operator": "оператор «{op}» не подходит для полей типа {type} (допустимо: {allowed})",
    "filter_self_editable": "в правилах нельзя использовать $user.{key}: пользователи меняют "
    "это сами",
    "filter_hop_not_link": "«{link}» — не поле связи, поэтому «{key}» не работает",
    "filter_hop_target": "каталога, на который ссылается «{link}», больше нет",
    "filter_hop_depth": "фильтр может пройти только через одну связь",
    "filter_too_long": "фильтр слишком длинный",
    "filter_json": "это не JSON ({reason})",
    "sort_too_long": "сортировать можно не больше чем по {max} полям",
    "sort_empty_key": "пустое поле сортировки",
    "sort_unsortable": "по полю «{name}» (тип {type}) сортировать нельзя",
    "cursor_invalid": "неверный курсор (он от другой сортировки или изменён)",
    "operand_missing": "оператору {op} нужно значение",
    "operand_empty": "empty принимает true или false",
    "operand_between": "between принимает [от, до]",
    "operand_text": "{op} принимает непустую строку",
    "operand_list": "in/nin принимают список",
    "operand_list_long": "в списке не больше {max} значений",
    "operator_unknown": "неизвестный оператор {op}",
    "me_needs_user": "«me» работает только для вошедшего пользователя",
}
