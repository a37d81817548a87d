"""Saved views of a catalog: table, kanban, calendar, gantt, gallery."""
