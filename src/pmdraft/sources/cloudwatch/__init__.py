"""CloudWatch: alarm history, breach analysis, metric series and the EventBridge archive."""
