#!/usr/bin/env bash
# Runs a deno task's command in its own session, so one Ctrl+C reaches it once.
# A terminal sends Ctrl+C to its whole foreground process group, and `deno task` (2.9) forwards
# SIGINT, SIGTERM and SIGHUP to its child as well: a child in that group gets each signal twice.
# In a session of its own only deno task's copy arrives. Only for deno tasks: under a launcher
# that does not forward signals the command would not see Ctrl+C. Where setsid is missing
# (macOS) or would have to fork (we lead our process group), plain exec; flowctl takes a second
# signal within 300 ms as the same one anyway.
set -euo pipefail
if command -v setsid >/dev/null && [ "$(ps -o pgid= -p $$ | tr -d ' ')" != "$$" ]; then
  exec setsid "$@"
fi
exec "$@"
