"""Japanese topic and risk triage: SudachiPy tokens and character n-grams, scikit-learn models, and a
transparent safety layer of crisis expressions that can raise risk, never lower it.

Depends on nothing else of Koe's: the bot, the console and the command line use it.
"""

from triage.labels import RISKS, TOPIC_LABELS, TOPICS, Risk
from triage.result import Evidence, TriageResult

__all__ = ["RISKS", "TOPICS", "TOPIC_LABELS", "Evidence", "Risk", "TriageResult"]
