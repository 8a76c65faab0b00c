"""The runtime around the answer engine: Flask webhooks, Celery tasks and one adapter per platform."""
