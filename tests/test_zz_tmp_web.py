from fastapi.testclient import TestClient
def test_weird(app):
    with TestClient(app, follow_redirects=False) as c:
        r = c.get("/w/%00x/api/v1/catalogs")
