"""The chat socket: parses frames, checks ownership, calls services, relays a reply's events.

Frames are described in docs/protocol.md. The consumer never writes a reply itself; it starts
a runner (chat/replies.py) and, like every other socket on the conversation, relays what the
runner publishes to the conversation's group.
"""
from __future__ import annotations

import asyncio
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.consumer import get_handler_name
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from glmweb.consumer_inbox import InboxConsumerMixin

from . import selectors, services
from .frames import describe_error, message_payload, new_message_payloads, pick_language
from .language import language_from_scope
from .models import Message
from .replies import group_name
from .send_queue import announce_and_start, send_queue
from .services import ChatRefused

CLOSE_NOT_LOGGED_IN = 4401
CLOSE_NOT_FOUND = 4404
# How long a joining socket waits for a live runner's text before falling back to the database.
SNAPSHOT_WAIT_SECONDS = 5.0
MAX_FRAME_BYTES = 256 * 1024
# Events a reply's runner publishes (relaying one reads nothing from the database), and the
# browser's frames (whose handlers reach the database only through database_sync_to_async,
# which closes stale connections itself).
SKIP_CONNECTION_CLEANUP = frozenset(
    {"chat.announce", "chat.message", "chat.delta", "chat.status", "chat.done", "chat.deleted", "chat.title",
     "chat.snapshot", "chat.tool", "websocket.receive"}
)


class ChatConsumer(InboxConsumerMixin, AsyncWebsocketConsumer):
    conversation_id: int | None = None
    group: str | None = None

    async def connect(self):
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_LOGGED_IN)
            return
        self.user = user
        self.language = language_from_scope(self.scope)
        conversation = await database_sync_to_async(selectors.find_conversation)(
            user=user, conversation_id=self.scope["url_route"]["kwargs"]["conversation_id"]
        )
        if conversation is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.conversation_id = conversation.pk
        self.conversation_summary = {"id": conversation.pk, "title": conversation.title, "model": conversation.model}
        self.group = group_name(conversation.pk)
        self._pending_history: list[Message] | None = None
        # Events that arrive while the history waits for a snapshot follow it, in order.
        self._held: list[dict] = []
        self._fallback: asyncio.Task | None = None
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self._send_history()

    async def disconnect(self, code):
        if self._fallback_task():
            self._fallback.cancel()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler, on Django's one
        # sync thread. Queueing each piece of every reply behind that thread's sends, flushes
        # and billing was the relay's main delay, and each sent message waited for it twice.
        if message["type"] in SKIP_CONNECTION_CLEANUP:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    def _fallback_task(self):
        return getattr(self, "_fallback", None)

    # --- history on connect ------------------------------------------------------------------

    async def _send_history(self):
        messages = await database_sync_to_async(self._load_history)()
        live = next((m for m in messages if m.status == Message.Status.STREAMING and m.runner_channel), None)
        if live is None:
            await self._send_frame({"type": "history", "conversation": self.conversation_summary,
                                    "messages": [message_payload(m, self.language) for m in messages]})
            return
        # Joined mid-reply: ask the runner (in whatever process) for the text so far. Deltas
        # that arrive meanwhile carry offsets, so the client skips what the snapshot holds.
        self._pending_history = messages
        await self.channel_layer.send(
            live.runner_channel, {"type": "reply.snapshot", "reply_to": self.channel_name}
        )
        self._fallback = asyncio.create_task(self._history_fallback())

    def _load_history(self) -> list[Message]:
        messages = selectors.conversation_messages(conversation=selectors.find_conversation(
            user=self.user, conversation_id=self.conversation_id))
        for message in messages:
            services.reply_interrupt_if_stale(message=message)
        return messages

    async def _history_fallback(self):
        await asyncio.sleep(SNAPSHOT_WAIT_SECONDS)
        await self._flush_pending_history(snapshot=None)

    async def _flush_pending_history(self, snapshot: dict | None):
        messages = self._pending_history
        if messages is None:
            return
        self._pending_history = None
        payloads = [message_payload(m, self.language) for m in messages]
        if snapshot is not None:
            for payload in payloads:
                if payload["id"] == snapshot["message_id"]:
                    payload["text"] = snapshot["text"]
        await self._send_frame({"type": "history", "conversation": self.conversation_summary, "messages": payloads})
        held, self._held = self._held, []
        for frame in held:
            await self._send_frame(frame)

    async def chat_snapshot(self, event):
        if self._fallback_task():
            self._fallback.cancel()
        await self._flush_pending_history(snapshot=event)

    # --- frames from the browser ------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None or len(text_data) > MAX_FRAME_BYTES:
            await self._refuse("bad_json", _("Frames must be JSON text of at most 256 KB."))
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self._refuse("bad_json", _("That frame is not valid JSON."))
            return
        if not isinstance(frame, dict):
            await self._refuse("bad_json", _("A frame must be a JSON object."))
            return
        handler = {
            "send": self._on_send,
            "stop": self._on_stop,
            "regenerate": self._on_regenerate,
            "edit": self._on_edit,
        }.get(frame.get("type"))
        if handler is None:
            await self._refuse("unknown_type", _("Unknown frame type."))
            return
        try:
            await handler(frame)
        except ChatRefused as refused:
            await self._refuse(refused.code, refused.message)

    async def _on_send(self, frame):
        if "text" not in frame:
            raise ChatRefused("missing_field", _("A message needs some text."))
        request = services.NewMessage(
            conversation_id=self.conversation_id,
            text=frame["text"],
            attachment_ids=frame.get("attachments") or [],
            runner_channel=await self.channel_layer.new_channel(),
        )
        # Stored together with whatever else was sent at this moment (chat/send_queue.py).
        await send_queue().send(request, language=self.language)

    async def _on_regenerate(self, frame):
        await self._start(services.reply_regenerate)

    async def _on_edit(self, frame):
        if "message_id" not in frame or "text" not in frame:
            raise ChatRefused("missing_field", _("An edit needs message_id and text."))
        await self._start(services.reply_after_edit, message_id=frame["message_id"], text=frame["text"])

    async def _start(self, service, **arguments):
        """Store what the frame asks for and the reply's empty message, tell every socket on
        the conversation, then start the reply."""
        # The default prefix matters: channels-redis pops every process-local channel of one
        # prefix from one list, and a second prefix in the same process starves the first.
        channel = await self.channel_layer.new_channel()
        # One trip to the database thread for both: every send waits its turn for that thread.
        start, payloads = await database_sync_to_async(self._store_and_describe)(service, channel, arguments)
        announce_and_start(start, payloads)

    def _store_and_describe(self, service, channel: str, arguments: dict) -> tuple[services.ReplyStart, list[dict]]:
        start = service(conversation_id=self.conversation_id, runner_channel=channel, **arguments)
        return start, new_message_payloads(start, self.language)

    async def _on_stop(self, frame):
        reply = await database_sync_to_async(selectors.streaming_reply)(conversation_id=self.conversation_id)
        if reply is None or not reply.runner_channel:
            raise ChatRefused("nothing_to_stop", _("No reply is being written."))
        await self.channel_layer.send(reply.runner_channel, {"type": "reply.stop"})

    # --- events from the channel layer -------------------------------------------------------

    async def chat_announce(self, event):
        """What a reply's start stored (the user's message, the reply's own, what it replaced),
        as one event; each becomes its own frame, in order."""
        for each in event["events"]:
            await getattr(self, get_handler_name(each))(each)

    async def chat_message(self, event):
        await self._relay({"type": "message", "message": event["message"]})

    async def chat_delta(self, event):
        await self._relay(
            {"type": "delta", "message_id": event["message_id"], "offset": event["offset"], "text": event["text"]}
        )

    async def chat_status(self, event):
        await self._relay({"type": "status", "message_id": event["message_id"], "state": event["state"],
                                "message": pick_language(event["texts"], self.language)})

    async def chat_done(self, event):
        error = None
        if event["error_code"]:
            error = {"code": event["error_code"],
                     "message": describe_error(event["error_code"], event["error_texts"], self.language)}
        if error is not None:
            await self._relay({"type": "error", **error})
        await self._relay({"type": "done", "message_id": event["message_id"], "status": event["status"],
                                "text": event["text"], "usage": event["usage"], "cost": event["cost"], "error": error})

    async def chat_tool(self, event):
        await self._relay({"type": "tool", "message_id": event["message_id"], "tool": event["tool"]})

    async def chat_deleted(self, event):
        await self._relay({"type": "deleted", "message_ids": event["message_ids"]})

    async def chat_title(self, event):
        await self._relay({"type": "title", "title": event["title"]})

    # --- helpers ---------------------------------------------------------------------------

    async def _refuse(self, code: str, message) -> None:
        with translation.override(self.language):
            text = str(message)
        await self._send_frame({"type": "error", "code": code, "message": text})

    async def _relay(self, frame: dict) -> None:
        """Send a frame from the conversation's group, after the history if that is pending."""
        if self._pending_history is not None:
            self._held.append(frame)
        else:
            await self._send_frame(frame)

    async def _send_frame(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))
