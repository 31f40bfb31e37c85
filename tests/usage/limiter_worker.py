"""A process that hammers the per-model limiter: `python -m tests.usage.limiter_worker MODEL
ATTEMPTS GO_FILE`. It sets Django up from the environment, warms its connection up and prints
"ready"; once GO_FILE holds a start time (Unix seconds) it waits for that instant, then asks for
ATTEMPTS slots without waiting, one every few milliseconds, and prints how many it was
admitted and when it started and ended."""
import os
import sys
import time
from pathlib import Path


def main() -> None:
    model, attempts, go_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glmweb.settings")
    import django

    django.setup()
    from usage.limits import RateLimited, acquire_model_slot_blocking

    # Connecting (and Redis loading its script) would otherwise land in the measured burst.
    acquire_model_slot_blocking(model="warm-up-model", wait_seconds=0)
    print("ready", flush=True)
    deadline = time.monotonic() + 30
    while not (go_file.exists() and go_file.read_text().strip()):
        if time.monotonic() > deadline:
            sys.exit("no go signal")
        time.sleep(0.005)
    start_at = float(go_file.read_text())
    while time.time() < start_at:
        pass  # both processes leave this loop within a millisecond of each other
    first = time.time()
    admitted = 0
    for _ in range(attempts):
        try:
            acquire_model_slot_blocking(model=model, wait_seconds=0)
            admitted += 1
        except RateLimited:
            pass
        # A breath between requests: without it, SQLite's busy handler can leave the other
        # process waiting for the write lock through the whole burst.
        time.sleep(0.005)
    print(f"{admitted} {attempts} {first} {time.time()}", flush=True)


if __name__ == "__main__":
    main()
