"""The background sender: delivery passes, one after another, until asked to stop."""

from __future__ import annotations

import asyncio
import contextlib

from application.ports.mail import MailDeliveryObserver
from application.use_cases.deliver_mail import DeliverMail


class MailSender:
    """Runs `DeliverMail` every `poll_seconds` (at once again while passes come back full),
    or sooner when woken; safe to run in every worker, since claims never overlap."""

    def __init__(
        self,
        deliver: DeliverMail,
        observer: MailDeliveryObserver,
        *,
        poll_seconds: float,
    ) -> None:
        self._deliver = deliver
        self._observer = observer
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        """Look for due mail now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the message being sent, hand the rest back, and return from `run`."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            full = False
            try:
                report = await self._deliver.execute(stopping=self._stopping.is_set)
                full = report.claimed >= self._deliver.batch_size
            except Exception as error:  # noqa: BLE001 - the sender outlives any one failed pass
                self._observer.pass_failed(error)
            if full:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
