"""The HTML user interface (Jinja2 templates, htmx), built into the app by kartoteka.server."""
