"""Running totals of skipped work, kept as message-hub scalars."""
from mmengine.logging import MessageHub


def increment_counter(message_hub: MessageHub, key: str) -> int:
    """Add one to the total stored as scalar ``key`` and return the new total.

    LogProcessor prints the current value of such scalars (their name matches no ``loss`` /
    ``time`` pattern) in every log line, and checkpoints keep them across a resume.
    """
    total = int(message_hub.get_scalar(key).current()) + 1 if key in message_hub.log_scalars else 1
    message_hub.update_scalar(key, total)
    return total
