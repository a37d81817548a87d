"""The HTML user interface (Jinja2 templates, htmx), mounted by kartoteka.api.app."""
