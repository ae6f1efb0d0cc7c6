"""Staff notifications (提醒, DESIGN §10 "Staff notifications"): assignments, send-backs, deadline
warnings, overdue, escalations, extension requests and decisions, and objections, each to the
members of staff of the unit concerned (`plan`), made once per event and pushed where a member has
a channel (`service`)."""
