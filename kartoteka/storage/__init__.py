"""Storage: the only package that builds SQL. SQLAlchemy 2 Core, SQLite and PostgreSQL."""
