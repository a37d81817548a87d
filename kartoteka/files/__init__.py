"""Uploaded files: storage on disk (S3 later), rights that follow the record, thumbnails."""
