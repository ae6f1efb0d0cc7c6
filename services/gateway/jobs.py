"""The gateway's worker: relays its outbox and tells reporters about every change of status.

Jobs: `gateway.handle_event` (events the gateway subscribes to, `handlers.HANDLERS`), `gateway.deliver`
(one feedback message), `gateway.wechat_follow_up` (an official-account message whose ticket could
not be in the passive reply), and the crons `gateway.feedback_sweep` (deliveries whose job was
lost) and `gateway.wechat_sweep` (pushes left unsettled).
"""

from __future__ import annotations

from arq.cron import cron
from arq.worker import Worker

from services.common.jobs import build_worker, event_consumer, job
from services.gateway.handlers import HANDLERS
from services.gateway.models import messaging
from services.gateway.service.channels import wechat_inbox
from services.gateway.service.feedback import service as feedback


def worker(burst: bool = False) -> Worker:
    """The arq worker for queue `<prefix>:gateway`."""
    return build_worker(
        "gateway",
        messaging,
        [
            event_consumer("gateway", HANDLERS),
            job(feedback.DELIVER_JOB, feedback.deliver),
            job(wechat_inbox.FOLLOW_UP_JOB, wechat_inbox.follow_up),
        ],
        [
            cron(feedback.sweep_cron, name="gateway.feedback_sweep", second={7}, run_at_startup=True),
            cron(wechat_inbox.sweep_cron, name="gateway.wechat_sweep", second={37}, run_at_startup=True),
        ],
        burst=burst,
    )
