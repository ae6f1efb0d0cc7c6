"""Feedback's steps: plan the deliveries of a status change, send one, sweep up lost ones.

No commits inside the steps' own logic beyond what each step's unit of work needs: planning runs
in the event consumer's transaction (inbox claim + rows, together); a send is claimed in one
short transaction, made with no transaction open, and recorded in a second one. The steps live
in sibling modules by concern (``deliveries``, ``changes``, ``sending``, ``sweeping``); this
module gathers their public names for the gateway's jobs and handlers.
"""

from __future__ import annotations

from services.gateway.service.feedback.changes import (
    fetch_contacts,
    notice_words,
    on_extended,
    on_noticed,
    on_objected,
    on_progressed,
    on_status_changed,
)
from services.gateway.service.feedback.deliveries import DELIVER_JOB, enqueue_delivery, store
from services.gateway.service.feedback.sending import FINAL_STATUS, DeliveryPending, deliver
from services.gateway.service.feedback.sweeping import sweep, sweep_cron

__all__ = [
    "DELIVER_JOB",
    "FINAL_STATUS",
    "DeliveryPending",
    "deliver",
    "enqueue_delivery",
    "fetch_contacts",
    "notice_words",
    "on_extended",
    "on_noticed",
    "on_objected",
    "on_progressed",
    "on_status_changed",
    "store",
    "sweep",
    "sweep_cron",
]
