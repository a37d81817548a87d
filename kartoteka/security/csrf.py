"""Login CSRF: refuse a sign-in posted by another site.

Signed-in requests are protected by the session's CSRF token (`X-CSRF-Token` equal to
the `kartoteka_csrf` cookie, `api/deps.py`). A login has no session yet, so a page on
another site could post the attacker's credentials and sign the victim into the
attacker's account ("login CSRF"). Browsers say where a request comes from: every
cross-site form post carries `Origin`, and current browsers add `Sec-Fetch-Site`.
A login is refused when either says it came from another site; clients that are not
browsers send neither and are unaffected (OWASP: "verifying origin with standard
headers"). The check is shared by `POST /api/v1/auth/login` and the web sign-in form.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

#: `Sec-Fetch-Site` values of requests a page of this site (or the user) started.
SAME_SITE_FETCH = {"same-origin", "none"}


def cross_site_login(headers: Mapping[str, str]) -> bool:
    """Whether the browser says this request was started by a page of another site."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in SAME_SITE_FETCH:
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    host = headers.get("x-forwarded-host") or headers.get("host") or ""
    # Compare hosts only: a proxy ending TLS makes the scheme differ between the two.
    return origin == "null" or urlsplit(origin).netloc.lower() != host.split(",")[0].strip().lower()
