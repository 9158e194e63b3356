"""Running crawls now or on a schedule: runner, subprocess, scheduler, run history, locks, health, metrics."""
