"""Protection: failed-login delays, request limits, the security log and TOTP two-factor.

See docs/security.md for every protection and its settings.
"""
