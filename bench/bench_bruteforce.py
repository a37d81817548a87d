"""Brute force: a script tries 1,000 passwords against one account.

Target: at most 10 passwords checked (Argon2 verifications) in the first 10 minutes.
The real login path runs (`auth.login` on a temporary SQLite workspace, real Argon2);
only the throttle's clock is simulated, and the attacker waits exactly `Retry-After`
after every 429, which is the fastest any attacker can go. Scenarios: one address,
and a botnet spreading the guesses over 1,000 addresses.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from kartoteka.auth import service as auth
from kartoteka.config import Settings
from kartoteka.errors import RateLimited, Unauthenticated
from kartoteka.security import throttle
from kartoteka.workspaces.service import Instance

EMAIL = "victim@example.com"
PASSWORD = "the-real-password-1"
WINDOW = 600.0


def attack(instance: Instance, tries: int, addresses: int) -> tuple[int, int, float]:
    """Run one attack; return (passwords checked in the window, refused, last check time)."""
    ws = instance.workspace(instance.settings.default_workspace)
    ws.meta_holder.pop("login_throttle", None)
    guard = throttle.for_workspace(ws)
    clock = [0.0]
    guard.clock = lambda: clock[0]
    checks = refused = 0
    last = 0.0
    real = auth.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        nonlocal checks, last
        checks += 1
        last = clock[0]
        return real(password_hash, password)

    auth.verify_password = counting  # type: ignore[assignment]
    try:
        for i in range(tries):
            address = f"203.0.{i % addresses // 256}.{i % addresses % 256}"
            try:
                auth.login(ws, EMAIL, f"guess-{i}", address=address)
            except RateLimited as exc:
                refused += 1
                clock[0] += exc.retry_after
            except Unauthenticated:
                pass
            if clock[0] >= WINDOW:
                break
    finally:
        auth.verify_password = real  # type: ignore[assignment]
    return checks, refused, last


def main() -> None:
    """Print the table."""
    argparse.ArgumentParser(description=__doc__).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), admin_email=EMAIL, admin_password=PASSWORD)
        instance = Instance(settings)
        instance.init()
        try:
            print("| scenario | tried | checked in 10 min | refused unchecked | last check at |")
            print("|---|---|---|---|---|")
            for name, addresses in (("one address", 1), ("1,000 addresses", 1000)):
                checked, refused, last = attack(instance, 1000, addresses)
                tried = checked + refused
                print(f"| {name} | {tried} | {checked} | {refused} | {last:.0f} s |")
        finally:
            instance.close()


if __name__ == "__main__":
    main()
