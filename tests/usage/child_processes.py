"""What a child process of a test needs to reach the same database."""
from pathlib import Path
from urllib.parse import quote


def database_url(settings_dict: dict) -> str:
    """DATABASE_URL naming the database this test run created, for child processes."""
    name = str(settings_dict["NAME"])
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        assert name != ":memory:" and not name.startswith("file:"), "child processes need a file database"
        return f"sqlite:///{Path(name).resolve()}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    return f"postgres://{credentials}{host}:{settings_dict.get('PORT') or 5432}/{quote(name, safe='')}"
