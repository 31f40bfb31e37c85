"""The images socket: a logged-in user's job updates, pushed as they happen.

The socket names no object: it joins the group of the user in the session, so it can only ever
carry that user's jobs. Frames are described in docs/images.md.
"""
from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import translation
from django.utils.translation import gettext

from chat.language import language_from_scope

from . import selectors
from .events import user_group
from .payloads import job_payload, localize

CLOSE_NOT_LOGGED_IN = 4401


class ImagesConsumer(AsyncWebsocketConsumer):
    group: str | None = None

    async def connect(self):
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_LOGGED_IN)
            return
        self.user = user
        self.language = language_from_scope(self.scope)
        self.group = user_group(user.pk)
        # Join before reading the snapshot: a change made in between arrives as an event
        # rather than being lost.
        await self.channel_layer.group_add(self.group, self.channel_name)
        jobs = await database_sync_to_async(self._pending_payloads)()
        await self._send_frame({"type": "jobs", "jobs": jobs})

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        # Nothing is asked over this socket: jobs are created over HTTP.
        with translation.override(self.language):
            message = gettext("This socket only sends updates; create pictures from the gallery.")
        await self._send_frame({"type": "error", "code": "unknown_type", "message": message})

    async def image_job(self, event):
        await self._send_frame(
            {"type": "job", "job": localize(event["job"], self.language), "positions": event.get("positions", {})}
        )

    def _pending_payloads(self) -> list[dict]:
        positions = selectors.queue_positions(user_id=self.user.pk)
        return [
            job_payload(job, language=self.language, position=positions.get(job.pk))
            for job in selectors.pending_jobs(user=self.user)
        ]

    async def _send_frame(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))
