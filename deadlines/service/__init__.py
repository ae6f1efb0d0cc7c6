"""The deadlines service's domain logic (时限), no HTTP and no commits: callers own the transaction.

- `calendar`, `schedules`: the working-day calendar (工作日) and its yearly schedules;
- `rules`, `rulesets`, `rates`: the time limits per track and urgency, versioned;
- `hierarchy`: who a clock escalates to (督办), over `services.common.scope`;
- `clocks`: start, meet, pause, resume, stop, recompute; `extensions`: 延期 requests;
- `sweep`: warnings, overdue and escalations; `queries`: what staff read.
"""
