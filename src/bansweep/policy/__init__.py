"""The policy stage: facts from the analysers become verdicts in each job's own words.

fleet.py     a device's maker -> covered / covered-limited / review / not-covered under each selected law
parties.py   name matches and group links -> match / possible-match / no-match / cleared / not-screened
"""

from bansweep.policy.fleet import judge, policy_ids

__all__ = ["judge", "policy_ids"]
