"""Japanese words the console shows for Koe's codes."""

from __future__ import annotations

from models import Outcome, ReferralDestination, Role, SchoolLevel
from triage.labels import TOPIC_LABELS

RISK_LABELS = {"urgent": "緊急", "high": "高", "medium": "中", "low": "低"}
DESK_LABELS = {"youth": "子ども", "resident": "福祉"}
SCHOOL_LEVEL_LABELS = {
    SchoolLevel.elementary: "小学生",
    SchoolLevel.junior_high: "中学生",
    SchoolLevel.high: "高校生",
    SchoolLevel.other: "その他",
    SchoolLevel.undisclosed: "回答なし",
}
ROLE_LABELS = {
    Role.counsellor: "相談員",
    Role.supervisor: "スーパーバイザー",
    Role.admin: "管理者",
    Role.board: "教育委員会",
}
OUTCOME_LABELS = {
    Outcome.resolved: "傾聴・助言で終了",
    Outcome.referred: "他機関につないだ",
    Outcome.no_reply: "相談者からの返信なし",
    Outcome.inappropriate: "いたずら・不適切な利用",
    Outcome.other: "その他",
}
REFERRAL_LABELS = {
    ReferralDestination.child_guidance: "児童相談所",
    ReferralDestination.police: "警察",
    ReferralDestination.school: "学校",
    ReferralDestination.sc_ssw: "SC・SSW",
    ReferralDestination.medical: "医療",
    ReferralDestination.welfare: "福祉窓口",
    ReferralDestination.other: "その他",
}
DELIVERY_LABELS = {"pending": "送信中", "delivered": "送信済み", "failed": "送信できませんでした"}


def topic_label(code: str) -> str:
    return TOPIC_LABELS.get(code, code)
