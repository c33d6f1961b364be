"""Topic codes and risk levels: the contract of shared/taxonomy.md, used exactly as written."""

from __future__ import annotations

from enum import StrEnum

TOPIC_LABELS: dict[str, str] = {
    "bullying": "いじめ",
    "family": "家族関係",
    "abuse": "虐待",
    "friends": "友人関係",
    "school": "学校生活",
    "study_career": "学業・進路",
    "truancy": "不登校・登校しぶり",
    "mental_health": "こころと体の不調",
    "suicide_selfharm": "希死念慮・自傷",
    "sexual": "性の悩み・性被害",
    "romance": "恋愛",
    "online": "ネット・SNSトラブル",
    "hikikomori": "ひきこもり",
    "neighbours": "地域・近隣関係",
    "money": "経済的困窮・借金",
    "caregiving": "介護・ヤングケアラー",
    "dv": "DV",
    "loneliness": "孤独・孤立",
    "living": "住まい・生活環境",
    "childrearing": "子育て",
    "work": "仕事・職場",
    "other": "その他",
}
TOPICS: tuple[str, ...] = tuple(TOPIC_LABELS)


class Risk(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"

    @property
    def rank(self) -> int:
        return RISKS.index(self)

    def __ge__(self, other: object) -> bool:  # ordinal, not alphabetical
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank < other.rank


RISKS: tuple[Risk, ...] = (Risk.low, Risk.medium, Risk.high, Risk.urgent)
RISK_LABELS: dict[Risk, str] = {Risk.low: "低", Risk.medium: "中", Risk.high: "高", Risk.urgent: "緊急"}
