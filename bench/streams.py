"""N chat replies at once through the site (Daphne, the consumer, the reply runner) next to N
direct streaming clients on the same GLM emulator.

    .venv/bin/python bench/streams.py --streams 500 [--rounds 9] [--tokens 100]
        [--first-token-ms 200] [--chunk-delay-ms 20] [--redis-url redis://127.0.0.1:6379/0]
        [--conn-max-age 600] [--direct-client sdk|gateway] [--relay-only]
        [--py-spy FILE [--py-spy-gil] [--py-spy-seconds S] [--py-spy-rate HZ]] [--keep]

Starts everything it needs and stops it at the end: a GLM emulator, a throwaway SQLite
database in a temporary folder (migrated, with N users per round, their sessions and one
conversation each) and one Daphne process. Then, in each round, once Daphne and the emulator
are idle and at least the emulator's keep-alive time (2 s) after the last phase, so that each
phase opens its connections to GLM afresh, as the direct clients' new client does:

1. relay: N WebSockets log in with their session cookies, and when all have their history each
   sends one message at the same moment; every reply is timed from the send to its first
   delta frame, between delta frames, and to its done frame;
2. direct: N streams of the same messages straight to the emulator, timed the same way, with
   the OpenAI SDK's AsyncOpenAI as the GLM manual shows (or, with --direct-client gateway,
   glm.stream.AsyncChatClient, the client the site itself uses).

It prints, over the replies of every round pooled: completion rate, tokens delivered whole (a
relayed reply counts once its pieces, placed at their offsets, spell the done frame's text),
time to first token and gaps between pieces, total throughput for both side by side with the
ratio relay/direct, how long each message took to be stored and to become a GLM request (from
the emulator's request log); then each round's figures, and the CPU time each process spent.
Both phases run their clients in this one process.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

STREAM_TIMEOUT_SECONDS = 300
CONNECT_CONCURRENCY = 50  # sockets opened at a time before the start signal


@dataclass
class Stream:
    """What one client saw of one reply."""

    ok: bool = False
    sent_at: float | None = None
    sent_wall: float | None = None  # time.time() at the send, to compare with the emulator's log
    upstream_started: float | None = None  # when the emulator received the GLM request
    stored_at: float | None = None  # relay: when the reply's message frame arrived (both stored)
    arrivals: list[float] = field(default_factory=list)
    ended_at: float | None = None
    pieces: int = 0  # delta frames (relay) or text events (direct)
    tokens: int = 0  # tokens of the reply delivered whole
    problem: str = ""

    @property
    def ttft(self) -> float | None:
        return self.arrivals[0] - self.sent_at if self.arrivals and self.sent_at is not None else None

    @property
    def gaps(self) -> list[float]:
        return [later - earlier for earlier, later in zip(self.arrivals, self.arrivals[1:])]


def prompt_for(number: int, tokens: int) -> str:
    return f"benchmark stream {number} [[glm-len:{tokens}]]"


# --- the site --------------------------------------------------------------------------------


def raise_file_limit(streams: int) -> None:
    # Each relayed stream holds a WebSocket on both ends and an upstream connection on both
    # ends: about 4 descriptors, plus the direct phase's pool.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(soft, min(hard, 8 * streams + 1024))
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < 4 * streams + 256:
        print(f"warning: the open-file limit ({wanted}) may be too low for {streams} streams", file=sys.stderr)


def site_environment(*, var_dir: Path, emulator, redis_url: str, conn_max_age: int | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="glmweb.settings",
        GLMWEB_VAR_DIR=str(var_dir),
        MEDIA_ROOT=str(var_dir / "media"),
        ZHIPUAI_API_KEY=emulator.api_key,
        ZHIPUAI_BASE_URL=emulator.base_url,
        DEBUG="False",
        LOG_LEVEL="WARNING",
        # The benchmark measures the relay, not the limiter: the manual's RPM table would
        # (rightly) hold N simultaneous replies back.
        USAGE_MODEL_LIMITS_ENABLED="False",
        USAGE_USER_RPM="0",
        PYTHONPATH=os.pathsep.join(filter(None, [str(BASE_DIR), os.environ.get("PYTHONPATH")])),
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    if conn_max_age is not None:
        # The settings' default database, with persistent connections.
        env["DATABASE_URL"] = f"sqlite:///{var_dir / 'db.sqlite3'}?conn_max_age={conn_max_age}"
    return env


def prepare_site(*, env: dict, users: int) -> list[dict]:
    """Migrate the throwaway database and create the users, sessions and conversations."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    result = subprocess.run(
        [sys.executable, __file__, "_prepare", "--users", str(users)],
        cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _prepare(users: int) -> None:
    """Runs in a child process with the site's settings: prints the sessions as JSON."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.test import Client

    from chat import services

    User = get_user_model()
    password = make_password("benchmark-password")  # one hash: hashing N times is slow
    User.objects.bulk_create(User(username=f"bench{n:05d}", password=password) for n in range(users))
    sessions = []
    for user in User.objects.filter(username__startswith="bench").order_by("username"):
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        conversation = services.conversation_create(user=user)
        sessions.append({"cookie": client.cookies["sessionid"].value, "conversation_id": conversation.pk})
    print(json.dumps(sessions))


def start_daphne(*, env: dict, log_path: Path) -> tuple[subprocess.Popen, str]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    port = listener.getsockname()[1]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            # -v 0: no access log line per connection, as behind a proxy that keeps its own.
            [sys.executable, "-m", "daphne", "-v", "0", "--fd", str(listener.fileno()), "glmweb.asgi:application"],
            cwd=BASE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
    listener.close()
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise SystemExit(f"Daphne exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"{url}/accounts/login/", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"Daphne did not answer in time; see {log_path}")
        time.sleep(0.1)


def start_profiler(pid: int, output: str, *, gil_only: bool, rate: int, seconds: float | None = None) -> subprocess.Popen:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("--py-spy needs py-spy: .venv/bin/pip install py-spy")
    # Either every thread with time spent waiting kept (where a reply waits), or only the
    # thread holding the GIL (where the CPU goes).
    mode = ["--gil"] if gil_only else ["--threads", "--idle"]
    window = ["--duration", f"{max(1, round(seconds))}"] if seconds else []
    return subprocess.Popen([py_spy, "record", "--pid", str(pid), "--rate", str(rate), *mode, *window,
                             "--nonblocking", "--format", "raw", "--output", output],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def note_upstream_starts(emulator, streams: list[Stream], tokens: int) -> None:
    """Match each stream to its request in the emulator's log (by its text), then clear it."""
    by_text = {prompt_for(number, tokens): stream for number, stream in enumerate(streams)}
    for record in emulator.requests():
        stream = by_text.get(record.get("last_user_text") or "")
        if stream is not None and record["stream"]:
            stream.upstream_started = record["started_at"]
    emulator.reset()


def wait_until_upstream_idle(emulator, timeout: float = 120) -> None:
    """Let the titles written after the relayed replies finish before the direct phase."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(record["finished"] for record in emulator.requests()):
            return
        time.sleep(0.2)


# The emulator closes connections idle this long, and phases start further apart than that: each
# phase opens its connections to GLM afresh, the relay's as the direct clients' (whose client is
# new each phase), where the relay's pool would otherwise still hold the last round's.
EMULATOR_KEEPALIVE_SECONDS = 2.0


def wait_for_idle_connections_to_close(last_phase_ended: float) -> None:
    time.sleep(max(0.0, last_phase_ended + EMULATOR_KEEPALIVE_SECONDS + 1.0 - time.monotonic()))


def wait_until_idle(pids: list[int], timeout: float = 60) -> None:
    """Wait until none of these processes is still working on the last phase (closing its
    sockets, billing, writing titles): the next phase must not share the cores with it."""
    deadline = time.monotonic() + timeout
    quiet = 0
    before = [cpu_seconds(pid) for pid in pids]
    while quiet < 2 and time.monotonic() < deadline:
        time.sleep(0.25)
        now = [cpu_seconds(pid) for pid in pids]
        busy = any(later - earlier > 0.02 for earlier, later in zip(before, now))  # 8% of a core
        quiet = 0 if busy else quiet + 1
        before = now


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds each process of the benchmark spends during one phase: where the cores went."""

    def __init__(self, processes: dict[str, int]):
        self.processes = processes
        self.before = {name: cpu_seconds(pid) for name, pid in processes.items()}

    def spent(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) - self.before[name] for name, pid in self.processes.items()}


# --- relay: real WebSockets through Daphne -------------------------------------------------


async def finish_or_give_up(tasks: list[asyncio.Task], streams: list[Stream]) -> None:
    """Wait for every stream; those still running after STREAM_TIMEOUT_SECONDS count as lost."""
    _done, pending = await asyncio.wait(tasks, timeout=STREAM_TIMEOUT_SECONDS)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for stream in streams:
        if not stream.ok and not stream.problem:
            stream.problem = f"not done after {STREAM_TIMEOUT_SECONDS} s ({stream.pieces} pieces received)"


async def open_socket(http, *, url: str, session: dict):
    """A logged-in chat socket (session cookie, same-origin header) that has had its history."""
    ws = await http.ws_connect(
        f"{url.replace('http://', 'ws://')}/ws/chat/{session['conversation_id']}/",
        headers={"Origin": url, "Cookie": f"sessionid={session['cookie']}"},
        heartbeat=None, max_msg_size=0,
    )
    first = await ws.receive(timeout=60)
    if first.type.name != "TEXT" or json.loads(first.data).get("type") != "history":
        await ws.close()
        raise RuntimeError(f"expected the history frame, got {first.type.name} {str(first.data)[:80]}")
    return ws


async def read_reply(ws, stream: Stream, tokens: int, idle_timeout: float) -> None:
    """Time the reply's delta frames until its done frame; a reply silent for idle_timeout is
    counted as lost."""
    reply_id = None
    streamed: list[str] = []
    while True:
        # A hard limit per frame: aiohttp's own receive timeout restarts on every ping.
        try:
            async with asyncio.timeout(idle_timeout):
                message = await ws.receive()
        except TimeoutError:
            stream.problem = f"no frame for {idle_timeout:g} s after {stream.pieces} deltas"
            return
        now = time.perf_counter()
        if message.type.name != "TEXT":
            stream.problem = f"socket closed ({message.type.name}) after {stream.pieces} deltas"
            return
        frame = json.loads(message.data)
        if frame["type"] == "message" and frame["message"]["role"] == "assistant":
            reply_id = frame["message"]["id"]
            stream.stored_at = now
        elif frame["type"] == "delta" and frame["message_id"] == reply_id:
            stream.arrivals.append(now)
            stream.pieces += 1
            if frame["offset"] == sum(map(len, streamed)):
                streamed.append(frame["text"])
        elif frame["type"] == "done" and frame["message_id"] == reply_id:
            stream.ended_at = now
            complete = frame["status"] == "complete" and (frame.get("usage") or {}).get("completion_tokens") == tokens
            # Pieces may carry several tokens: a reply counts its tokens once its pieces,
            # placed at their offsets, spell exactly the text the done frame holds.
            intact = "".join(streamed) == frame["text"]
            stream.ok = complete and intact
            stream.tokens = tokens if stream.ok else 0
            if not complete:
                stream.problem = f"done: {frame['status']} {frame.get('error')}"
            elif not intact:
                stream.problem = f"the streamed text differs from the final text after {stream.pieces} pieces"
            return
        elif frame["type"] == "error":
            stream.problem = f"error frame: {frame}"


async def relay_warm_up(http, *, url: str, session: dict) -> None:
    """One short reply first, so the figures are of a warm server (its GLM client made, its
    first upstream connection open), as the direct phase's are of a warm client."""
    ws = await open_socket(http, url=url, session=session)
    try:
        await ws.send_str(json.dumps({"type": "send", "text": prompt_for(-1, 5)}))
        await read_reply(ws, Stream(), 5, idle_timeout=60)
    finally:
        await ws.close()


def fresh_heap() -> None:
    """Before a phase, set aside what earlier phases left in this process (their streams, their
    closed sockets): frozen, the garbage collector no longer walks them, so each phase's
    clients run as in a process of their own and a late round is not slowed by the early ones."""
    gc.collect()
    gc.freeze()


async def relay_phase(
    *, url: str, sessions: list[dict], warm_up: dict, tokens: int, idle_timeout: float, processes: dict[str, int],
    at_send=None,
) -> tuple[list[Stream], float, dict[str, float]]:
    import aiohttp

    streams = [Stream() for _ in sessions]
    go = asyncio.Event()
    waiting = len(sessions)
    all_connected = asyncio.Event()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(number: int, stream: Stream, http) -> None:
        nonlocal waiting
        ws = None
        try:
            async with gate:
                ws = await open_socket(http, url=url, session=sessions[number])
        except Exception as error:  # counted as a failed stream
            stream.problem = f"connect: {error!r}"
        finally:
            waiting -= 1
            if waiting == 0:
                all_connected.set()
        if ws is None:
            return
        try:
            await go.wait()
            stream.sent_at, stream.sent_wall = time.perf_counter(), time.time()
            await ws.send_str(json.dumps({"type": "send", "text": prompt_for(number, tokens)}))
            await read_reply(ws, stream, tokens, idle_timeout)
        except Exception as error:
            stream.problem = f"stream: {error!r}"
        finally:
            await ws.close()

    fresh_heap()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        await relay_warm_up(http, url=url, session=warm_up)
        tasks = [asyncio.create_task(one(n, streams[n], http)) for n in range(len(sessions))]
        await asyncio.wait_for(all_connected.wait(), timeout=STREAM_TIMEOUT_SECONDS)
        meter = CpuMeter(processes)
        if at_send is not None:
            at_send()
        started = time.perf_counter()
        go.set()
        await finish_or_give_up(tasks, streams)
        cpu = meter.spent()
    return streams, started, cpu


# --- direct: the gateway's own client straight to the emulator -----------------------------


async def sdk_stream(client, number: int, stream: Stream, tokens: int) -> None:
    """One direct stream through the OpenAI SDK, as the GLM manual's section 5 shows."""
    chunks = await client.chat.completions.create(
        model="glm-4-flash", messages=[{"role": "user", "content": prompt_for(number, tokens)}],
        temperature=0.95, top_p=0.7, max_tokens=4096, stream=True, extra_body={"user_id": f"user-{number:06d}"},
    )
    async for chunk in chunks:
        now = time.perf_counter()
        if chunk.choices and chunk.choices[0].delta.content:
            stream.arrivals.append(now)
            stream.pieces += 1
        if chunk.usage is not None:
            stream.ended_at = now
            stream.ok = chunk.usage.completion_tokens == tokens
            stream.tokens = tokens if stream.ok else 0


async def gateway_stream(client, number: int, stream: Stream, tokens: int) -> None:
    """One direct stream through glm.stream.AsyncChatClient, the client the site uses."""
    from glm.events import Finish, TextDelta

    async for event in client.stream_chat(
        model="glm-4-flash", messages=[{"role": "user", "content": prompt_for(number, tokens)}],
        temperature=0.95, top_p=0.7, max_tokens=4096, user_id=f"user-{number:06d}",
    ):
        now = time.perf_counter()
        if isinstance(event, TextDelta):
            stream.arrivals.append(now)
            stream.pieces += 1
        elif isinstance(event, Finish):
            stream.ended_at = now
            stream.ok = event.usage is not None and event.usage.completion_tokens == tokens
            stream.tokens = tokens if stream.ok else 0


def direct_client(kind: str, emulator):
    """The direct clients' shared client and how one stream runs on it."""
    if kind == "sdk":
        import openai

        client = openai.AsyncOpenAI(api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0, timeout=120.0)
        return client, sdk_stream, client.close
    from glm.stream import AsyncChatClient

    client = AsyncChatClient(api_key=emulator.api_key, base_url=emulator.base_url, read_timeout=120.0)
    return client, gateway_stream, client.aclose


async def direct_phase(
    *, emulator, count: int, tokens: int, processes: dict[str, int], kind: str
) -> tuple[list[Stream], float, dict[str, float]]:
    fresh_heap()
    client, run_stream, close = direct_client(kind, emulator)
    streams = [Stream() for _ in range(count)]
    go = asyncio.Event()

    async def one(number: int, stream: Stream) -> None:
        await go.wait()
        stream.sent_at, stream.sent_wall = time.perf_counter(), time.time()
        try:
            await run_stream(client, number, stream, tokens)
        except Exception as error:
            stream.problem = f"stream: {error!r}"

    try:
        # The same warm-up as the relay's: a client made, a connection open.
        await run_stream(client, -1, Stream(), 5)
        tasks = [asyncio.create_task(one(n, streams[n])) for n in range(count)]
        await asyncio.sleep(0)
        meter = CpuMeter(processes)
        started = time.perf_counter()
        go.set()
        await finish_or_give_up(tasks, streams)
        cpu = meter.spent()
    finally:
        await close()
    return streams, started, cpu


# --- figures ------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Round:
    """One side's streams in one round, and when that round's sends went."""

    streams: list[Stream]
    started: float

    @property
    def wall(self) -> float | None:
        ends = [s.ended_at for s in self.streams if s.ended_at is not None]
        return (max(ends) - self.started) if ends else None


def summarise(rounds: list[Round], tokens_each: int) -> dict:
    """Percentiles over every reply of every round; throughput over the rounds' wall times."""
    streams = [stream for one in rounds for stream in one.streams]
    walls = [one.wall for one in rounds]
    wall = None if not walls or None in walls else sum(walls)
    ttfts = [s.ttft for s in streams if s.ttft is not None]
    before_upstream = [s.upstream_started - s.sent_wall for s in streams
                       if s.upstream_started is not None and s.sent_wall is not None]
    before_stored = [s.stored_at - s.sent_at for s in streams if s.stored_at is not None and s.sent_at is not None]
    gaps = [gap for s in streams for gap in s.gaps]
    tokens = sum(s.tokens for s in streams)
    return {
        "completed": sum(1 for s in streams if s.ok),
        "total": len(streams),
        "ttft_p50": percentile(ttfts, 0.50),
        "ttft_p95": percentile(ttfts, 0.95),
        "ttft_p99": percentile(ttfts, 0.99),
        "stored_p50": percentile(before_stored, 0.50),
        "stored_p95": percentile(before_stored, 0.95),
        "upstream_p50": percentile(before_upstream, 0.50),
        "upstream_p95": percentile(before_upstream, 0.95),
        "gap_p50": percentile(gaps, 0.50),
        "gap_p95": percentile(gaps, 0.95),
        "gap_p99": percentile(gaps, 0.99),
        "tokens": tokens,
        "tokens_expected": tokens_each * len(streams),
        "pieces": sum(s.pieces for s in streams),
        "wall": wall,
        "throughput": tokens / wall if wall else None,
        "problem_count": sum(1 for s in streams if s.problem),
        "problems": [s.problem for s in streams if s.problem][:5],
    }


def cpu_report(*, relay: dict[str, float], direct: dict[str, float], rounds: int) -> str:
    lines = ["", f"CPU seconds per process, first send to last done, all {rounds} rounds"]
    for name in ("emulator", "Daphne", "benchmark clients"):
        lines.append(f"{name:<42}{_seconds(relay.get(name)):>24}{_seconds(direct.get(name)):>24}")
    lines.append(f"{'all':<42}{_seconds(sum(relay.values())):>24}{_seconds(sum(direct.values())):>24}")
    return "\n".join(lines)


def rounds_report(relay: list[Round], direct: list[Round], tokens_each: int) -> str:
    """Each round on its own, to show how far one run can stray from the pooled figures."""
    lines = ["", "round   TTFT p50 relay / direct   added   throughput relay / direct   complete"]
    for number, relay_round in enumerate(relay, start=1):
        mine = summarise([relay_round], tokens_each)
        theirs = summarise(direct[number - 1:number], tokens_each)
        added = (mine["ttft_p50"] - theirs["ttft_p50"]) if mine["ttft_p50"] and theirs["ttft_p50"] else None
        share = (mine["throughput"] / theirs["throughput"]) if mine["throughput"] and theirs["throughput"] else None
        lines.append(
            f"{number:>5}   {_ms(mine['ttft_p50']):>9} / {_ms(theirs['ttft_p50']):<9}   {_ms(added):>7}   "
            f"{mine['throughput'] or 0:8.0f} / {theirs['throughput'] or 0:<8.0f} = {_ratio(share):<6}"
            f"   {mine['completed']}/{mine['total']}"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f} ms"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def machine_line() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores available ({model or platform.processor() or 'unknown CPU'}), {platform.system()} " \
           f"{platform.release()}, Python {platform.python_version()}"


def report(*, relay: dict, direct: dict, options) -> str:
    def ms(value):
        return "—" if value is None else f"{value * 1000:8.1f} ms"

    def ratio(a, b):
        return "—" if a is None or not b else f"{a / b:6.2f}"

    def completion(figures):
        if not figures["total"]:
            return "—"
        return f"{figures['completed']}/{figures['total']} ({100 * figures['completed'] / figures['total']:.1f}%)"

    rows = [
        ("completed", completion(relay), completion(direct), ""),
        ("tokens delivered whole", f"{relay['tokens']}/{relay['tokens_expected']}",
         f"{direct['tokens']}/{direct['tokens_expected']}", ""),
        ("pieces (delta frames / text events)", f"{relay['pieces']}", f"{direct['pieces']}", ""),
    ]
    for key, label in (("ttft_p50", "time to first token p50"), ("ttft_p95", "time to first token p95"),
                       ("ttft_p99", "time to first token p99"),
                       ("stored_p50", "send to reply stored p50"), ("stored_p95", "send to reply stored p95"),
                       ("upstream_p50", "send to GLM request p50"), ("upstream_p95", "send to GLM request p95"),
                       ("gap_p50", "gap between pieces p50"),
                       ("gap_p95", "gap between pieces p95"), ("gap_p99", "gap between pieces p99")):
        rows.append((label, ms(relay[key]), ms(direct[key]), ratio(relay[key], direct[key])))
    rows.append(("wall time, first send to last done", ms(relay["wall"]), ms(direct["wall"]),
                 ratio(relay["wall"], direct["wall"])))
    rows.append(("throughput", f"{relay['throughput'] or 0:8.0f} tok/s", f"{direct['throughput'] or 0:8.0f} tok/s",
                 ratio(relay["throughput"], direct["throughput"])))
    width = max(len(row[0]) for row in rows)
    lines = [
        f"rounds: {options.rounds} (figures pool every round's replies), "
        f"streams: {options.streams}, reply: {options.tokens} tokens, emulator: first token "
        f"{options.first_token_ms:g} ms, {options.chunk_delay_ms:g} ms per chunk; channel layer: "
        f"{'Redis' if options.redis_url else 'in-memory'}; one Daphne process"
        + ("" if options.conn_max_age is None else f"; CONN_MAX_AGE={options.conn_max_age}")
        + f"; a relayed reply silent for {options.idle_timeout:g} s, or not done in {STREAM_TIMEOUT_SECONDS} s, is lost",
        f"direct clients: "
        + ("the OpenAI SDK's AsyncOpenAI (as the GLM manual shows)" if options.direct_client == "sdk"
           else "glm.stream.AsyncChatClient (the site's own client)"),
        f"machine: {machine_line()}",
        "",
        f"{'':{width}}  {'relay (Daphne)':>22}  {'direct':>22}  {'relay/direct':>12}",
    ]
    lines += [f"{label:{width}}  {a:>22}  {b:>22}  {c:>12}" for label, a, b, c in rows]
    added = None if relay["ttft_p50"] is None or direct["ttft_p50"] is None else relay["ttft_p50"] - direct["ttft_p50"]
    lines.append("")
    lines.append(f"added time to first token at the median: {ms(added).strip()}")
    meets = (
        relay["completed"] == relay["total"]
        and added is not None and added < 0.050
        and relay["throughput"] and direct["throughput"] and relay["throughput"] >= 0.9 * direct["throughput"]
    )
    lines.append("targets (100% complete, added TTFT p50 < 50 ms, throughput >= 0.9x direct): "
                 + ("met" if meets else "NOT met"))
    for name, figures in (("relay", relay), ("direct", direct)):
        if figures["problem_count"]:
            lines.append(f"{name}: {figures['problem_count']} streams had a problem; the first few:")
        for problem in figures["problems"]:
            lines.append(f"  {problem}")
    return "\n".join(lines)


def run_relay_round(options, *, url, sessions, warm_up, emulator, daphne, profiled: bool):
    """One round of relayed replies (profiled with py-spy if asked, in the first round only)."""
    profilers = []

    def profile(seconds=None):
        profilers.append(start_profiler(daphne.pid, options.py_spy, gil_only=options.py_spy_gil,
                                         rate=options.py_spy_rate, seconds=seconds))

    profiling = bool(options.py_spy) and profiled
    if profiling and not options.py_spy_seconds:
        profile()
    try:
        streams, started, cpu = asyncio.run(
            relay_phase(url=url, sessions=sessions, warm_up=warm_up, tokens=options.tokens,
                        idle_timeout=options.idle_timeout,
                        processes={"emulator": emulator.pid, "Daphne": daphne.pid, "benchmark clients": os.getpid()},
                        at_send=(lambda: profile(options.py_spy_seconds)) if profiling and options.py_spy_seconds else None)
        )
    finally:
        for profiler in profilers:
            if profiler.poll() is None:
                profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
    wait_until_upstream_idle(emulator)
    note_upstream_starts(emulator, streams, options.tokens)
    return Round(streams, started), cpu


def add_cpu(total: dict[str, float], more: dict[str, float]) -> None:
    for name, seconds in more.items():
        total[name] = total.get(name, 0.0) + seconds


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_prepare":
        parser = argparse.ArgumentParser()
        parser.add_argument("_prepare")
        parser.add_argument("--users", type=int, required=True)
        _prepare(parser.parse_args().users)
        return

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=9,
                        help="rounds of relay then direct, each with new conversations; the figures pool every "
                             "round's replies (one round on a shared machine can differ from the next by several "
                             "hundred milliseconds, and the verdict of three rounds can go either way)")
    parser.add_argument("--tokens", type=int, default=100, help="tokens per reply")
    parser.add_argument("--first-token-ms", type=float, default=200)
    parser.add_argument("--chunk-delay-ms", type=float, default=20)
    parser.add_argument("--redis-url", default="", help="use the Redis channel layer (default: in-memory)")
    parser.add_argument("--conn-max-age", type=int, default=None, metavar="SECONDS",
                        help="keep database connections open this long (the site's default closes them after each use)")
    parser.add_argument("--idle-timeout", type=float, default=60, metavar="SECONDS",
                        help="a relayed reply with no frame for this long counts as lost")
    parser.add_argument("--py-spy-seconds", type=float, default=None, metavar="SECONDS",
                        help="with --py-spy: profile only this many seconds from the send (the first tokens' time)")
    parser.add_argument("--relay-only", action="store_true", help="skip the direct phase (for profiling the relay)")
    parser.add_argument("--py-spy-gil", action="store_true",
                        help="with --py-spy: sample only the thread holding the GIL (where CPU goes)")
    parser.add_argument("--py-spy-rate", type=int, default=200, metavar="HZ",
                        help="with --py-spy: samples per second (1000 to see the first second in detail)")
    parser.add_argument("--direct-client", choices=("sdk", "gateway"), default="sdk",
                        help="direct clients: the OpenAI SDK's AsyncOpenAI as the GLM manual shows (default), "
                             "or the site's own glm.stream.AsyncChatClient")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, Daphne log)")
    parser.add_argument("--py-spy", metavar="FILE", default="",
                        help="profile Daphne during the relay phase with py-spy (if installed); "
                             "collapsed stacks go to FILE")
    options = parser.parse_args()

    from glm.emulator.testing import RunningEmulator

    raise_file_limit(options.streams)
    work = Path(tempfile.mkdtemp(prefix="glmweb-bench-"))
    daphne = None
    try:
        with RunningEmulator(first_token_ms=options.first_token_ms, chunk_delay_ms=options.chunk_delay_ms,
                             extra_args=["--keepalive-seconds", str(EMULATOR_KEEPALIVE_SECONDS)]) as emulator:
            env = site_environment(var_dir=work / "var", emulator=emulator, redis_url=options.redis_url,
                                   conn_max_age=options.conn_max_age)
            users = options.streams * options.rounds
            print(f"preparing {users} users in {work} …", file=sys.stderr, flush=True)
            warm_up, *sessions = prepare_site(env=env, users=users + 1)
            daphne, url = start_daphne(env=env, log_path=work / "daphne.log")
            relay_rounds, direct_rounds = [], []
            phase_ended = time.monotonic()
            relay_cpu, direct_cpu = {}, {}
            for number in range(options.rounds):
                # Each round's replies are first exchanges in new conversations, as in the first.
                round_sessions = sessions[number * options.streams:(number + 1) * options.streams]
                wait_until_idle([emulator.pid, daphne.pid])
                wait_for_idle_connections_to_close(phase_ended)
                print(f"round {number + 1}/{options.rounds}, relay: {options.streams} WebSockets through Daphne "
                      f"at {url} …", file=sys.stderr, flush=True)
                relay_round, cpu = run_relay_round(options, url=url, sessions=round_sessions, warm_up=warm_up,
                                                   emulator=emulator, daphne=daphne, profiled=number == 0)
                phase_ended = time.monotonic()
                relay_rounds.append(relay_round)
                add_cpu(relay_cpu, cpu)
                if options.relay_only:
                    continue
                wait_until_idle([emulator.pid, daphne.pid])
                wait_for_idle_connections_to_close(phase_ended)
                print(f"round {number + 1}/{options.rounds}, direct: {options.streams} streams to the emulator …",
                      file=sys.stderr, flush=True)
                streams, started, cpu = asyncio.run(
                    direct_phase(emulator=emulator, count=options.streams, tokens=options.tokens,
                                 # Daphne too: it should be idle here, or the direct side is slowed by it.
                                 processes={"emulator": emulator.pid, "Daphne": daphne.pid,
                                            "benchmark clients": os.getpid()},
                                 kind=options.direct_client)
                )
                phase_ended = time.monotonic()
                note_upstream_starts(emulator, streams, options.tokens)
                direct_rounds.append(Round(streams, started))
                add_cpu(direct_cpu, cpu)
            print(report(relay=summarise(relay_rounds, options.tokens), direct=summarise(direct_rounds, options.tokens),
                         options=options))
            print(rounds_report(relay_rounds, direct_rounds, options.tokens))
            print(cpu_report(relay=relay_cpu, direct=direct_cpu, rounds=options.rounds))
    finally:
        if daphne is not None:
            stop_process(daphne)
        if options.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
