"""The background sender: delivery passes, one after another, until asked to stop."""

from __future__ import annotations

import asyncio
import contextlib

from application.ports.mail import MailDeliveryObserver
from application.use_cases.deliver_mail import DeliverMail


class MailDoorbell:
    """Rung after a commit that queued mail, so this process's sender need not wait a poll."""

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    async def wait(self, seconds: float) -> None:
        """Until rung, or `seconds` pass; the bell is silent again afterwards."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._rung.wait(), seconds)
        self._rung.clear()


class MailSender:
    """Runs `DeliverMail` every `poll_seconds` (at once again while passes come back full),
    or as soon as the doorbell rings; safe in every worker, since claims never overlap."""

    def __init__(
        self,
        deliver: DeliverMail,
        observer: MailDeliveryObserver,
        doorbell: MailDoorbell,
        *,
        poll_seconds: float,
    ) -> None:
        self._deliver = deliver
        self._observer = observer
        self._doorbell = doorbell
        self._poll_seconds = poll_seconds
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the message being sent, hand the rest back, and return from `run`."""
        self._stopping.set()
        self._doorbell.ring()

    async def run(self) -> None:
        while not self._stopping.is_set():
            full = False
            try:
                report = await self._deliver.execute(stopping=self._stopping.is_set)
                full = report.claimed >= self._deliver.batch_size
            except Exception as error:  # noqa: BLE001 - the sender outlives any one failed pass
                self._observer.pass_failed(error)
            if not full:
                await self._doorbell.wait(self._poll_seconds)
