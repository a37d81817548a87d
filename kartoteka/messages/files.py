"""Messages of files: uploads, downloads and thumbnails."""

from __future__ import annotations

#: code -> English template.
EN: dict[str, str] = {
    "file_not_found": "file {id} not found",
    "file_no_thumbnail": "file {id} is not an image and has no thumbnail",
    "file_too_large": "the file exceeds the upload limit of {limit} bytes ({mib} MiB)",
    "upload_too_large": "the file exceeds the upload limit of {limit} bytes",
    "image_too_large": "image too large to decode (decompression bomb protection)",
    "image_corrupt": "cannot decode the image: {reason}",
    "upload_multipart": "send the file as multipart/form-data with a part named 'file'",
    "upload_headers": "multipart part headers are too large",
    "upload_one_file": "send one file per request",
    "upload_malformed": "malformed multipart body: {reason}",
    "upload_required": "required (a multipart part named 'file')",
    "upload_truncated": "the upload was cut off before its end (truncated multipart body)",
}

#: Names of the file kinds (`fields.file.FILE_KINDS`) where a message lists them, per
#: language; English uses the kinds' own names.
KIND_NAMES: dict[str, dict[str, str]] = {
    "ru": {
        "image": "изображения",
        "audio": "аудио",
        "video": "видео",
        "document": "документы",
        "archive": "архивы",
    },
}

#: code -> (the parameter listing file kinds, comma-separated; their names per language).
LISTS: dict[str, tuple[str, dict[str, dict[str, str]]]] = {"file_kind": ("kinds", KIND_NAMES)}

#: code -> Russian template.
RU: dict[str, str] = {
    "file_not_found": "файл {id} не найден",
    "file_no_thumbnail": "файл {id} — не изображение, у него нет миниатюры",
    "file_too_large": "файл больше допустимого размера: {limit} байт ({mib} МиБ)",
    "upload_too_large": "файл больше допустимого размера: {limit} байт",
    "image_too_large": "изображение слишком большое для обработки (защита от «бомб распаковки»)",
    "image_corrupt": "изображение повреждено: {reason}",
    "upload_multipart": "отправьте файл как multipart/form-data в части с именем «file»",
    "upload_headers": "заголовки части multipart слишком велики",
    "upload_one_file": "отправляйте по одному файлу за запрос",
    "upload_malformed": "неверное тело multipart: {reason}",
    "upload_required": "нужен файл (часть multipart с именем «file»)",
    "upload_truncated": "загрузка оборвалась до конца (тело multipart обрезано)",
}
