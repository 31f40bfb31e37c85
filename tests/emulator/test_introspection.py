"""The introspection API: health, the request log and reset."""
from __future__ import annotations

import time

import httpx


def test_health_answers_ok(emulator):
    response = httpx.get(f"{emulator.root_url}/_emulator/health")
    assert (response.status_code, response.json()) == (200, {"ok": True})


def test_log_records_every_api_request_with_its_outcome(emulator, zhipu, http):
    emulator.reset()
    zhipu.chat.completions.create(
        model="glm-4-flash",
        messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "logged [[glm-len:3]]"}],
        stream=True,
    ).response.read()
    http.post("/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "bad model"}]})
    httpx.post(f"{emulator.base_url}/chat/completions", json={})
    streamed, refused, unauthenticated = emulator.requests()

    assert streamed["path"] == "/api/paas/v4/chat/completions"
    assert (streamed["model"], streamed["stream"], streamed["status"]) == ("glm-4-flash", True, 200)
    assert (streamed["api_key_id"], streamed["last_user_text"], streamed["message_count"]) == (
        emulator.api_key.split(".")[0], "logged [[glm-len:3]]", 2
    )
    assert streamed["finished"] is True and streamed["client_disconnected"] is False
    assert streamed["chunks_sent"] == 4
    assert streamed["started_at"] <= streamed["ended_at"]

    assert (refused["model"], refused["status"], refused["last_user_text"]) == ("nope", 400, "bad model")
    assert (unauthenticated["status"], unauthenticated["api_key_id"]) == (401, None)


def test_reset_empties_the_log(emulator, http):
    http.post("/chat/completions", json={"model": "glm-4-flash", "messages": [{"role": "user", "content": "x"}]})
    assert emulator.requests()
    emulator.reset()
    assert emulator.requests() == []


def test_stopped_stream_is_logged_as_disconnected_within_a_second(emulator, http, log_of):
    text = f"long and slow [[glm-len:200]] [[glm-slow:50]] {time.time()}"
    body = {"model": "glm-4-flash", "stream": True, "messages": [{"role": "user", "content": text}]}
    with http.stream("POST", "/chat/completions", json=body) as response:
        first_event = next(line for line in response.iter_lines() if line)
        assert first_event.startswith("data: ")
    stopped_at = time.time()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not log_of(text)[0]["finished"]:
        time.sleep(0.02)
    [entry] = log_of(text)
    assert entry["client_disconnected"] is True
    assert entry["status"] == 200
    assert 1 <= entry["chunks_sent"] < 200
    assert entry["ended_at"] - stopped_at < 1.0


def test_images_are_logged_with_their_prompt(emulator, http):
    emulator.reset()
    http.post("/images/generations", json={"model": "cogview-4", "prompt": "logged picture", "size": "512x512"})
    [entry] = emulator.requests()
    assert (entry["path"], entry["model"], entry["last_user_text"], entry["status"]) == (
        "/api/paas/v4/images/generations", "cogview-4", "logged picture", 200
    )


def test_dropped_request_is_logged_without_a_status(emulator, http, log_of):
    text = f"[[glm-drop@0]] {time.time()}"
    try:
        http.post("/chat/completions", json={"model": "glm-4-flash", "messages": [{"role": "user", "content": text}]})
    except httpx.RemoteProtocolError:
        pass
    [entry] = log_of(text)
    assert (entry["status"], entry["finished"], entry["chunks_sent"]) == (None, True, 0)


def test_unknown_api_path_is_404_and_logged(emulator, http):
    emulator.reset()
    assert http.post("/embeddings", json={"model": "embedding-3", "input": "x"}).status_code == 404
    [entry] = emulator.requests()
    assert (entry["path"], entry["status"], entry["finished"]) == ("/api/paas/v4/embeddings", 404, True)
