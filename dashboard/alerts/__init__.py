"""Alerts: rules evaluated all the time by one process (the lease holder), messages sent to
channels (Apprise or a signed webhook) on threads of their own. See docs/alerts.md."""
