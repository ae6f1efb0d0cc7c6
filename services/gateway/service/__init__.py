"""The gateway's domain logic: channels and their normalisation into one AppealDraft, identity,
feedback to reporters, rate limits, money scope and the calls to the services behind it."""
