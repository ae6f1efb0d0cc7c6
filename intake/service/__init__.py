"""Intake's domain logic: record appeals once, move them only along legal paths, show them.

No HTTP here and no commits: callers own the transaction (see services.common.db). Import the
module you need (this package imports nothing, so a pure module such as `privacy` or `lifecycle`
loads without the rest):
- `records`: recording a draft (once per channel and reference), finding an appeal;
- `moves`: the checked state change with its timeline entry, events, counters and followers;
- `public`: the public status of DESIGN §10;
- `lifecycle` (the state machine), `commands` (staff commands), `access` (scope), `evaluations`
  (回访), `confidentiality`, `disclosure`, `privacy`, `archive`, `residents`, `stats/`.
"""
