"""The policy stage: facts from the analysers become verdicts in each job's own words.

fleet.py     a device's maker -> covered / covered-limited / review / not-covered under each selected law
firmware.py  rule findings -> their severity word (critical … info) and a risk score per app
parties.py   name matches and group links -> match / possible-match / no-match / cleared / not-screened
"""

from bansweep.policy.fleet import judge, policy_ids

__all__ = ["judge", "policy_ids"]
