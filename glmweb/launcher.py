"""`make run`: the site on Daphne, a real Celery worker and, with no API key, the bundled GLM
emulator. Ctrl-C (or any child dying) stops every child process."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = os.environ.get("GLMWEB_HOST", "127.0.0.1")
PORT = os.environ.get("GLMWEB_PORT", "8000")
EMULATOR_PORT = os.environ.get("GLM_EMULATOR_PORT", "8765")
DEMO_ADMIN = "admin"


def _start_emulator(env: dict) -> subprocess.Popen:
    emulator = subprocess.Popen(
        [sys.executable, "-m", "glm.emulator", "--host", "127.0.0.1", "--port", EMULATOR_PORT],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = emulator.stdout.readline().strip()
    if "listening on" not in line:
        emulator.kill()
        sys.exit(f"The GLM emulator did not start (port {EMULATOR_PORT} busy? set GLM_EMULATOR_PORT): {line}")
    env["ZHIPUAI_BASE_URL"] = line.rsplit(" ", 1)[-1]
    return emulator


def _demo_admin_password() -> str:
    """Create the offline demo's staff account once; its password is kept under var/."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    password_file = Path(settings.VAR_DIR) / "demo-admin-password.txt"
    User = get_user_model()
    if not User.objects.filter(username=DEMO_ADMIN).exists():
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(DEMO_ADMIN, password=password)
        password_file.write_text(password)
    return password_file.read_text().strip() if password_file.exists() else "(unknown: manage.py changepassword admin)"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glmweb.settings")
    env = dict(os.environ)
    children: list[tuple[str, subprocess.Popen]] = []
    offline = not env.get("ZHIPUAI_API_KEY")
    if offline:
        env["ZHIPUAI_API_KEY"] = "emulator-id.emulator-secret"
        env["GLM_OFFLINE_DEMO"] = "1"
        children.append(("emulator", _start_emulator(env)))
        os.environ.update(env)
        credentials = f"  Staff account: {DEMO_ADMIN} / {_demo_admin_password()}"
    else:
        credentials = "  Create a staff account with: .venv/bin/python manage.py createsuperuser"

    bin_dir = Path(sys.executable).parent
    children.append(
        ("worker", subprocess.Popen([str(bin_dir / "celery"), "-A", "glmweb", "worker", "--loglevel", "INFO",
                                     "--concurrency", "2"], cwd=BASE_DIR, env=env))
    )
    children.append(
        ("web", subprocess.Popen([str(bin_dir / "daphne"), "-b", HOST, "-p", PORT, "glmweb.asgi:application"],
                                 cwd=BASE_DIR, env=env))
    )
    print(f"\nGLM Web is starting at http://{HOST}:{PORT}/", flush=True)
    if offline:
        print("  Offline demo: no ZHIPUAI_API_KEY, replies come from the local GLM emulator.", flush=True)
    print(credentials + "\n  Ctrl-C stops everything.\n", flush=True)

    stopping = False

    def stop(*_args):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children:
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode}; stopping the rest.", flush=True)
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.3)
    _stop_all(children)
    sys.exit(exit_code)


def _stop_all(children) -> None:
    for _name, child in reversed(children):
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 15
    for _name, child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    main()
