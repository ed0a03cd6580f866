"""Training, evaluation and data tooling for ticket-classifier (never imported by serving)."""
