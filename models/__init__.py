"""Koe's data model: the shared language of the bot, triage, the console and the reports."""

from models.base import Base, utcnow
from models.consultations import Consultation, ConsultationState, Message, MessageAuthor, MessageKind
from models.deliveries import Delivery, DeliveryState
from models.inbox import InboxEvent, InboxState
from models.senders import SchoolLevel, Sender, SenderStatus

__all__ = [
    "Base",
    "Consultation",
    "ConsultationState",
    "Delivery",
    "DeliveryState",
    "InboxEvent",
    "InboxState",
    "Message",
    "MessageAuthor",
    "MessageKind",
    "SchoolLevel",
    "Sender",
    "SenderStatus",
    "utcnow",
]
