"""Scenarios: a durable, event-driven process engine (docs/scenarios.md).

A scenario is a trigger plus a tree of steps, stored as JSON and versioned. Runs are
rows that move step by step; a wait is a run with a due time, never a sleeping thread.
"""
