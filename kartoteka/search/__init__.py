"""Full-text search: the analyzer, the per-catalog indexes and the search service."""
