"""Koe's data model: the shared language of the bot, triage, the console and the reports."""

from models.base import Base, utcnow
from models.consultations import Consultation, ConsultationState, Message, MessageAuthor, MessageKind
from models.deliveries import Delivery, DeliveryState
from models.inbox import InboxEvent, InboxState
from models.senders import SchoolLevel, Sender, SenderStatus
from models.triage import RISK_ORDER, MessageTriage, RiskEvent, RiskLevel, TriageCorrection

__all__ = [
    "RISK_ORDER",
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
    "MessageTriage",
    "RiskEvent",
    "RiskLevel",
    "SchoolLevel",
    "Sender",
    "SenderStatus",
    "TriageCorrection",
    "utcnow",
]
