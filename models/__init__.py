"""Koe's data model: the shared language of the bot, triage, the console and the reports."""

from models.accounts import ConsoleSession, LoginFailure, Role, User
from models.audit import AuditEntry
from models.base import Base, utcnow
from models.casework import CannedResponse, ConsultationNote, NoteKind, Outcome, Referral, ReferralDestination
from models.consultations import Consultation, ConsultationState, Message, MessageAuthor, MessageKind
from models.deliveries import Delivery, DeliveryState
from models.inbox import InboxEvent, InboxState
from models.paging import NoticeChannel, NoticeState, Page, PageNotice, PageState, Shift
from models.resources import SupportResource
from models.senders import SchoolLevel, Sender, SenderStatus
from models.triage import RISK_ORDER, MessageTriage, RiskEvent, RiskLevel, TriageCorrection

__all__ = [
    "RISK_ORDER",
    "AuditEntry",
    "Base",
    "CannedResponse",
    "ConsoleSession",
    "Consultation",
    "ConsultationNote",
    "ConsultationState",
    "Delivery",
    "DeliveryState",
    "InboxEvent",
    "InboxState",
    "LoginFailure",
    "Message",
    "MessageAuthor",
    "MessageKind",
    "MessageTriage",
    "NoteKind",
    "NoticeChannel",
    "NoticeState",
    "Outcome",
    "Page",
    "PageNotice",
    "PageState",
    "Referral",
    "ReferralDestination",
    "RiskEvent",
    "RiskLevel",
    "Role",
    "SchoolLevel",
    "Sender",
    "SenderStatus",
    "Shift",
    "SupportResource",
    "TriageCorrection",
    "User",
    "utcnow",
]
