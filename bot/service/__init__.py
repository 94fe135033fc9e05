"""The web service: webhook intake, the keyed work queue, routing, and one handler module per
concern."""
