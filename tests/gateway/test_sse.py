"""The server-sent-events reader: whatever way the bytes are cut, the same events come out."""
from __future__ import annotations

import pytest

from glm.sse import SSEDecoder

BODY = 'data: {"a": 1}\n\ndata: {"b": "土豆"}\n\ndata: [DONE]\n\n'.encode()


def decode_in_blocks(body: bytes, size: int) -> list[str]:
    decoder = SSEDecoder()
    events = []
    for start in range(0, len(body), size):
        events += decoder.feed(body[start:start + size])
    return events + decoder.finish()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_events_are_the_same_however_the_body_is_cut(size):
    # Cuts of one byte fall inside the multi-byte characters of 土豆 too.
    assert decode_in_blocks(BODY, size) == ['{"a": 1}', '{"b": "土豆"}', "[DONE]"]


@pytest.mark.parametrize("ending", [b"\r\n", b"\r", b"\n"])
@pytest.mark.parametrize("size", [1, 5, 1000])
def test_every_line_ending_ends_lines(ending, size):
    body = BODY.replace(b"\n", ending)

    assert decode_in_blocks(body, size) == ['{"a": 1}', '{"b": "土豆"}', "[DONE]"]


def test_an_event_is_only_returned_once_its_blank_line_arrived():
    decoder = SSEDecoder()

    assert decoder.feed(b'data: {"a": 1}\n') == []
    assert decoder.feed(b"\n") == ['{"a": 1}']


def test_several_data_lines_are_joined_and_other_fields_and_comments_skipped():
    body = b': keep-alive\n\nevent: message\nid: 7\nretry: 10\ndata: first\ndata:second\n\n'

    assert decode_in_blocks(body, 1000) == ["first\nsecond"]


def test_a_last_event_without_its_blank_line_is_still_read_at_the_end():
    decoder = SSEDecoder()

    assert decoder.feed(b'data: {"a": 1}\n\ndata: {"b": 2}') == ['{"a": 1}']
    assert decoder.finish() == ['{"b": 2}']
    assert decoder.finish() == []
