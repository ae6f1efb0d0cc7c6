"""The events the gateway consumes (its inbox): every change of an appeal's public status is fed
back to the reporters on their channel (`service/feedback`)."""

from __future__ import annotations

from services.common.jobs import EventHandler
from services.gateway.service.feedback import service as feedback

HANDLERS: dict[str, EventHandler] = {
    "appeal.status_changed": feedback.on_status_changed,
    "appeal.progressed": feedback.on_progressed,
}
