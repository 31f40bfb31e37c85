"""What accepting a big photo costs: wall time, CPU time and peak memory of the process.

    python bench/photos.py [--runs 5] [--view-runs 3] [--keep DIR]

Two inputs, made once at the start: a 24-megapixel camera JPEG (6000×4000, EXIF with GPS and
a "rotate 90°" orientation, like a phone's portrait photo) and a 20-megapixel PNG (5472×3648,
a screenshot of a photo: smooth colour with per-pixel noise over 60% of it, so it does not
compress to nothing). Both are under the default 20 MB upload limit.

Each run is a fresh Python process (so one run's memory cannot hide in another's high-water
mark) that sets up Django on a throw-away SQLite database and media folder, reads the file,
and accepts it through chat.attachments.attachment_create — decode, checks, re-encode without
metadata, thumbnail, copy for the model, files written, row saved — or, for the "view" rows,
through the upload view with Django's test client (which also builds and parses the multipart
body, all in memory), or, for the "view-file" rows, through the same view and handler with the
multipart body read from a file written beside the input, as a server that spools large bodies
to disk hands it over. A PNG run is timed as in a process that has accepted a PNG before: the
import of the PNG codecs that a process's first PNG pays once is timed on its own and printed
last. Printed: the median of the runs for wall time, CPU time (user + system),
the process's own peak resident memory (VmHWM) and how much of it the upload added, and beside
it ru_maxrss, which on Linux also carries this script's own peak into every run (see
_peak_rss_mb).

Targets: under 1 s and under 300 MB peak for the process.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

TARGET_SECONDS = 1.0
TARGET_PEAK_MB = 300


# --- inputs -------------------------------------------------------------------------------


def _photo_like(size: tuple[int, int], *, noise_sigma: float, noise_share: float):
    """Smooth colour fields (a low-resolution random picture scaled up) with per-pixel noise."""
    from PIL import Image

    width, height = size
    small = (max(2, width // 96), max(2, height // 96))
    smooth = Image.merge("RGB", [Image.effect_noise(small, 90) for _ in range(3)]).resize(size, Image.BICUBIC)
    grain = Image.merge("RGB", [Image.effect_noise(size, noise_sigma) for _ in range(3)])
    return Image.blend(smooth, grain, noise_share)


def camera_jpeg() -> bytes:
    from PIL import Image

    image = _photo_like((6000, 4000), noise_sigma=20, noise_share=0.25)
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # make
    exif[0x0110] = "Model 24"  # model
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 26.0), 3: "E", 4: (116.0, 23.0, 29.0)}  # GPS IFD
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92, exif=exif.tobytes())
    return buffer.getvalue()


def noisy_png() -> bytes:
    """A screenshot of a photo: a flat frame around a noisy picture covering 60% of it (all
    noise would not fit under the upload limit as a PNG)."""
    from PIL import Image

    width, height = 5472, 3648
    image = Image.new("RGB", (width, height), (242, 243, 246))
    inner = (width * 4 // 5, height * 3 // 4)
    image.paste(_photo_like(inner, noise_sigma=12, noise_share=0.15), ((width - inner[0]) // 2, (height - inner[1]) // 2))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


BOUNDARY = "BenchPhotosBoundary"


def multipart_path(path: Path) -> Path:
    return path.with_name(path.name + ".multipart")


def write_multipart(path: Path, name: str) -> None:
    """The body a browser sends for the upload form (one file field, "file"), beside the file."""
    head = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    with multipart_path(path).open("wb") as body:
        body.write(head.encode())
        body.write(path.read_bytes())
        body.write(f"\r\n--{BOUNDARY}--\r\n".encode())


INPUTS = {
    "jpeg": ("24 MP JPEG, EXIF+GPS", "IMG_0001.jpg", camera_jpeg),
    "png": ("20 MP PNG, noisy", "screen.png", noisy_png),
}


# --- one run, in its own process ----------------------------------------------------------


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM), from its start to now.

    Not ru_maxrss: on Linux that never reports less than the high-water mark of the process it
    was started from (the kernel carries it across fork and exec), and this script's parent
    reaches about 290 MB while making the inputs, which would floor every row at that.
    """
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kilobytes
    raise RuntimeError("no VmHWM in /proc/self/status")


def _ru_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(path: str, name: str, via: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glmweb.settings")
    django.setup()
    import gc

    from django.contrib.auth import get_user_model

    from chat import attachments
    from chat.models import Attachment
    from chat.services import conversation_create

    user = get_user_model().objects.create_user(username=f"bench{os.getpid()}", password="x" * 16)
    conversation = conversation_create(user=user)
    url = f"/c/{conversation.pk}/attachments/"
    client = _logged_in_client(user) if via in ("view", "view-file") else None
    # The streamed row reads its body from the file the runner wrote; the others hold the upload.
    data = None if via == "view-file" else Path(path).read_bytes()
    if name.endswith(".png"):
        # As in a server that has accepted a PNG before: chat.photos imports its PNG codecs on a
        # process's first PNG, once (that import is timed apart, import_seconds). Its memory
        # stays inside the peak, which is the process's high-water mark.
        from chat import photos

        photos._imagecodecs()
    gc.collect()

    rss_before = _current_rss_mb()
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    if via == "view":
        attachment = Attachment.objects.get(pk=_post_with_test_client(client, url, name, data))
    elif via == "view-file":
        attachment = Attachment.objects.get(pk=_post_body_from_file(client, url, multipart_path(Path(path))))
    else:
        attachment = attachments.attachment_create(conversation=conversation, data=data, original_name=name)
    wall = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    peak = _peak_rss_mb()
    ru_maxrss = _ru_maxrss_mb()

    sent = attachment.model_copy or attachment.file
    print(json.dumps({
        "wall": wall, "cpu": cpu, "peak_mb": peak, "ru_maxrss_mb": ru_maxrss, "added_mb": max(0.0, peak - rss_before),
        "stored": f"{attachment.width}×{attachment.height} {attachment.content_type.split('/')[-1].upper()}",
        "stored_mb": attachment.file.size / 2**20, "sent_mb": sent.size / 2**20,
        "resized": attachment.resized_for_model,
    }))


def _logged_in_client(user):
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    client.get("/")  # warm the request path, as a running server would be
    return client


def _post_with_test_client(client, url: str, name: str, data: bytes) -> int:
    """The test client builds the multipart body in memory and hands the view a copy of it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(url, {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 201, response.content[:300]
    return response.json()["id"]


def _post_body_from_file(client, url: str, body_path: Path) -> int:
    """The same request through the same handler, its body read from a file as Django parses it.

    That is how a large upload reaches the view under Daphne: Twisted spools a body over 100 KB
    to a temporary file, and Django's ASGI handler spools what Daphne passes on to another one
    (over FILE_UPLOAD_MAX_MEMORY_SIZE) before the view runs. Neither is in memory while the
    photo is cleaned; Daphne does queue the whole body to Django in 8 KB messages first, which
    this leaves out.
    """
    cookies = "; ".join(f"{morsel.key}={morsel.coded_value}" for morsel in client.cookies.values())
    with body_path.open("rb") as body:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": url, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.1", "HTTP_COOKIE": cookies,
            "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
            "CONTENT_LENGTH": str(body_path.stat().st_size),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": body, "wsgi.errors": sys.stderr,
            "wsgi.multiprocess": True, "wsgi.multithread": False, "wsgi.run_once": False,
        }
        response = client.handler(environ)  # the test client's handler, without its in-memory body
    assert response.status_code == 201, response.content[:300]
    return json.loads(response.content)["id"]


# --- the runner ---------------------------------------------------------------------------


def _environment(work: Path) -> dict:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)  # a throw-away SQLite file, whatever the shell has configured
    env.update(
        DJANGO_SETTINGS_MODULE="glmweb.settings",
        GLMWEB_VAR_DIR=str(work / "var"),
        MEDIA_ROOT=str(work / "media"),
        DEBUG="False",
        PYTHONPATH=os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")])),
    )
    return env


def run_case(env: dict, path: Path, name: str, via: str, runs: int) -> list[dict]:
    results = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(path), name, via],
            cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"run failed ({path.name}, {via}):\n{done.stderr[-3000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


# Run in a fresh process with Django set up, as an upload process meets it on its first PNG.
IMPORT_PROBE = (
    "import time, django; django.setup(); from chat import photos; "
    "started = time.perf_counter(); photos._imagecodecs(); print(time.perf_counter() - started)"
)


def import_seconds(env: dict, runs: int) -> float:
    """How long a process's first PNG spends importing imagecodecs and numpy, which chat.photos
    imports then rather than at start. The rows above are timed without it, as later PNGs in a
    running server are; a process's first PNG adds it once."""
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of attachment_create per input")
    parser.add_argument("--view-runs", type=int, default=3, help="runs of each way through the upload view (0: none)")
    parser.add_argument("--keep", type=Path, help="write the inputs and the database here instead of a temp dir")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-photos-") as scratch:
        work = arguments.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        env = _environment(work)
        subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=BASE_DIR, env=env, check=True)

        rows = []
        for key, (label, name, make) in INPUTS.items():
            path = work / name
            path.write_bytes(make())
            write_multipart(path, name)
            size_mb = path.stat().st_size / 2**20
            cases = (("service", arguments.runs), ("view", arguments.view_runs), ("view-file", arguments.view_runs))
            for via, runs in cases:
                if runs <= 0:
                    continue
                results = run_case(env, path, name, via, runs)
                rows.append((label, size_mb, via, runs, results))
                print(f"  {label} via {via}: {[round(r['wall'], 2) for r in results]} s", file=sys.stderr)

        print()
        header = ("input", "file MB", "path", "runs", "wall s", "CPU s", "peak MB", "added MB", "ru_maxrss MB",
                  "stored", "sent MB", "targets")
        table = []
        for label, size_mb, via, runs, results in rows:
            wall = statistics.median(r["wall"] for r in results)
            cpu = statistics.median(r["cpu"] for r in results)
            peak = statistics.median(r["peak_mb"] for r in results)
            added = statistics.median(r["added_mb"] for r in results)
            ru_maxrss = statistics.median(r["ru_maxrss_mb"] for r in results)
            last = results[-1]
            met = ("time ok" if wall < TARGET_SECONDS else "time MISSED") + ", " + (
                "memory ok" if peak < TARGET_PEAK_MB else "memory MISSED")
            sent = f"{last['sent_mb']:.1f}" + (" (resized)" if last["resized"] else "")
            table.append((label, f"{size_mb:.1f}", via, str(runs), f"{wall:.2f}", f"{cpu:.2f}", f"{peak:.0f}",
                          f"{added:.0f}", f"{ru_maxrss:.0f}", f"{last['stored']}, {last['stored_mb']:.1f} MB", sent, met))
        widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header))]
        for row in [header, tuple("-" * w for w in widths), *table]:
            print(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
        print(f"\nimagecodecs + numpy import on a process's first PNG, once, not in the rows: "
              f"{import_seconds(env, 3):.3f} s (median of 3)")
        print(f"medians; CPU cores: {os.cpu_count()}; load average at the end: "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; {_codec_versions()}")


def _codec_versions() -> str:
    """The image libraries the numbers depend on."""
    import imagecodecs
    import PIL

    return f"Pillow {PIL.__version__}, imagecodecs {imagecodecs.__version__} ({imagecodecs.png_version()})"


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
