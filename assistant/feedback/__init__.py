"""What shoppers asked that the assistant could not answer, kept for staff to act on."""

from assistant.feedback.unanswered import UnansweredLog, UnansweredQuestion, UnknownQuestion

__all__ = ["UnansweredLog", "UnansweredQuestion", "UnknownQuestion"]
