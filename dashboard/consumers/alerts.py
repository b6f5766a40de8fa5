"""The alert badge's socket: the count of conditions on, sent when a page opens and again
whenever the evaluator opens or closes one (dashboard/alerts/badge.py)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from ..access import VIEWER, has_role
from ..alerts import badge
from .base import NOT_ALLOWED, RevocableMixin, follow_login


class AlertsBadgeConsumer(RevocableMixin, AsyncWebsocketConsumer):
    role = VIEWER

    async def connect(self) -> None:
        if not await database_sync_to_async(has_role)(self.scope.get("user"), self.role):
            await self.close(code=NOT_ALLOWED)
            return
        await follow_login(self)
        await self.channel_layer.group_add(badge.GROUP, self.channel_name)
        self.joined = True
        await self.accept()
        await self.send_badge()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(badge.GROUP, self.channel_name)
            self.joined = False

    async def alerts_badge(self, event: dict[str, Any]) -> None:
        await self.send_badge()

    async def send_badge(self) -> None:
        count = await database_sync_to_async(badge.firing_count)()
        html = render_to_string("_alerts_badge.html", {"alerts_firing": count, "oob": True})
        await self.send(text_data=html)
