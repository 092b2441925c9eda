"""Named verification rules, shared by every source: reject -> quarantine, flag -> stored with the flag."""

from marketwire.verify.rules import RULES, Rule, rule

__all__ = ["RULES", "Rule", "rule"]
