"""A real Celery worker process for the image tests (never eager mode).

One worker serves the whole test session. It has a broker of its own (a temporary folder, or a
key prefix of its own in Redis) so it never sees another run's messages, reads the test
database, calls the session's GLM emulator and writes pictures to a media folder of its own.
The test process's Celery app is pointed at the same broker, so jobs created in tests reach it.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

from glmweb.celery import app as celery_app

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CELERY = PROJECT_ROOT / ".venv" / "bin" / "celery"

# What the worker process is told beyond the test run's own settings: quick retries and a
# short download limit keep the failure tests fast.
WORKER_SETTINGS = {
    "IMAGE_MAX_RETRIES": "2",
    "IMAGE_RETRY_BASE_DELAY": "0.05",
    "IMAGE_RETRY_MAX_DELAY": "0.2",
    "IMAGE_DOWNLOAD_MAX_BYTES": str(1024 * 1024),
    "IMAGE_DOWNLOAD_TIMEOUT": "2.5",
    "IMAGE_DOWNLOAD_READ_TIMEOUT": "1.5",
    "IMAGE_GENERATION_TIMEOUT": "20",
    "GLM_CONNECT_TIMEOUT": "5",
    "CELERY_WORKER_LOST_WAIT": "1",
    # The limiter has its own tests; here it would make later jobs wait for the model's minute.
    "USAGE_MODEL_LIMITS_ENABLED": "False",
}


def database_url() -> str:
    """The test database (not the configured one) as a DATABASE_URL for another process."""
    config = connection.settings_dict
    if config["ENGINE"] == "django.db.backends.sqlite3":
        name = str(config["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("the worker cannot share an in-memory SQLite database; set TEST NAME to a file")
        return f"sqlite:///{name}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{credentials}{config.get('HOST') or 'localhost'}{port}/{config['NAME']}"


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


class ImageWorker:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="glmweb-image-worker-"))
        self.media_root = self.root / "media"
        self.media_root.mkdir()
        self.broker_dir = self.root / "broker"
        self.key_prefix = f"glmweb-test-{uuid.uuid4().hex[:12]}:"
        self.nodename = f"images-test-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = self.root / "worker.log"
        self.process: subprocess.Popen | None = None
        self._emulator = None
        self._original_transport_options = dict(celery_app.conf.broker_transport_options or {})

    # -- the broker both processes use ---------------------------------------------------

    def broker_env(self) -> dict[str, str]:
        """What another process needs to share this run's broker and channel layer."""
        if not settings.REDIS_URL:
            return {"CELERY_BROKER_DIR": str(self.broker_dir)}
        env = {"CELERY_BROKER_KEY_PREFIX": self.key_prefix}
        # The test run may give its channel layer a prefix of its own; the worker's pushes
        # must land under it.
        prefix = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix")
        if prefix:
            env["CHANNEL_LAYER_PREFIX"] = prefix
        return env

    def point_celery_here(self) -> None:
        """Make this process's Celery app publish to the worker's broker."""
        options = dict(self._original_transport_options)
        if settings.REDIS_URL:
            options["global_keyprefix"] = self.key_prefix
        else:
            for sub in ("queue", "processed"):
                (self.broker_dir / sub).mkdir(parents=True, exist_ok=True)
            options.update(
                data_folder_in=str(self.broker_dir / "queue"),
                data_folder_out=str(self.broker_dir / "queue"),
                processed_folder=str(self.broker_dir / "processed"),
            )
        self._set_transport_options(options)

    def restore_celery(self) -> None:
        self._set_transport_options(self._original_transport_options)

    def point_celery_nowhere(self) -> None:
        """Publish to a broker no worker reads, for tests that drive a job by hand."""
        options = dict(self._original_transport_options)
        if settings.REDIS_URL:
            options["global_keyprefix"] = f"{self.key_prefix}unread:"
        else:
            unread = self.root / "unread-broker"
            for sub in ("queue", "processed"):
                (unread / sub).mkdir(parents=True, exist_ok=True)
            options.update(
                data_folder_in=str(unread / "queue"),
                data_folder_out=str(unread / "queue"),
                processed_folder=str(unread / "processed"),
            )
        self._set_transport_options(options)

    @staticmethod
    def _set_transport_options(options: dict) -> None:
        if dict(celery_app.conf.broker_transport_options or {}) == options:
            return
        celery_app.conf.broker_transport_options = options
        # Pools already made hold connections with the old options: stop using them. (Not
        # closed: kombu keeps them in a registry keyed by those options, to be found again.)
        celery_app._pool = None
        amqp = celery_app.__dict__.get("amqp")
        if amqp is not None:
            amqp._producer_pool = None

    # -- the worker process ----------------------------------------------------------------

    def start(self, *, emulator) -> "ImageWorker":
        self._emulator = emulator
        env = dict(os.environ)
        env.update(WORKER_SETTINGS)
        env.update(self.broker_env())
        env.update(
            DJANGO_SETTINGS_MODULE="glmweb.settings",
            DATABASE_URL=database_url(),
            MEDIA_ROOT=str(self.media_root),
            ZHIPUAI_API_KEY=emulator.api_key,
            ZHIPUAI_BASE_URL=emulator.base_url,
            PYTHONUNBUFFERED="1",
        )
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = [
            str(CELERY), "-A", "glmweb", "worker", "--pool", "prefork", "--concurrency", "1",
            "-n", self.nodename, "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "INFO",
        ]
        # The site's logging goes to the console; both streams land in one file.
        with open(self.log_path, "ab") as log:
            # Its own session, so that killing the worker kills its pool process too.
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_ready(offset)
        return self

    def _wait_until_ready(self, offset: int, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.log_path.exists():
                with open(self.log_path, "rb") as log:
                    log.seek(offset)
                    if b" ready." in log.read():
                        return
            time.sleep(0.1)
        raise RuntimeError(f"the worker did not become ready:\n{self.log_tail()}")

    def ensure_running(self, *, emulator) -> "ImageWorker":
        if self.process is None or self.process.poll() is not None:
            self.start(emulator=emulator)
        return self

    def restart(self) -> "ImageWorker":
        return self.start(emulator=self._emulator)

    def pool_processes(self) -> list[int]:
        return _children_of(self.process.pid) if self.process else []

    def kill(self) -> None:
        """SIGKILL the worker and its pool process at once: nothing gets to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(Path(f"/proc/{pid}").exists() for pid in self._session_members()) and time.monotonic() < deadline:
            time.sleep(0.05)

    def kill_pool_process(self) -> int:
        """SIGKILL only the pool process running the task; the worker itself lives on."""
        children = self.pool_processes()
        assert len(children) == 1, f"expected one pool process, found {children}"
        os.kill(children[0], signal.SIGKILL)
        return children[0]

    def _session_members(self) -> list[int]:
        members = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getsid(int(entry.name)) == self.process.pid:
                        members.append(int(entry.name))
                except OSError:
                    continue
        return members

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def close(self) -> None:
        self.stop()
        self.restore_celery()
        if settings.REDIS_URL:
            self._drop_redis_keys()
        shutil.rmtree(self.root, ignore_errors=True)

    def _drop_redis_keys(self) -> None:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            for key in client.scan_iter(match=f"{self.key_prefix}*"):
                client.delete(key)
        finally:
            client.close()

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


_shared: ImageWorker | None = None


def shared_worker() -> ImageWorker:
    """The session's one worker harness (created on first use, started by the fixture)."""
    global _shared
    if _shared is None:
        _shared = ImageWorker()
    return _shared


def close_shared_worker() -> None:
    global _shared
    if _shared is not None:
        _shared.close()
        _shared = None
