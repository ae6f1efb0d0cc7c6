"""Feedback (反馈): every change of an appeal's public status reaches its reporters on their channel.

- `appeal.status_changed` (intake's outbox → the gateway's queue) is handled once (inbox): the
  reporters' contacts come from intake, `plan` decides who hears on which channel, and one
  `FeedbackDelivery` row per (event, recipient, channel) is written — never two for one change.
- `gateway.deliver` sends one delivery: mini-program subscribe messages, official-account
  customer-service messages inside WeChat's 48-hour window (SMS when it is closed and a phone is
  known), or SMS. Transient failures retry with jittered backoff; every attempt is logged; a
  refusal (43101) is final. A delivery is claimed (`sending`) before the call, so two workers or
  a replayed job never send it twice.
- `gateway.feedback_sweep` (each minute) picks up deliveries whose job was lost.
"""
