"""ticket-classifier: triage of hosting support tickets (the runtime; never imports training)."""

__version__ = "0.1.0"
