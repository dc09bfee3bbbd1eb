"""PagerDuty: incidents, their log entries, related incidents and change events."""
