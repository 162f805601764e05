"""Intake's domain: the Client aggregate (client.py) and what is decided about it — referral and
eligibility under a programme's rules (referral.py, programmes.py + programmes.yaml), the journey
(journey.py + exit_rules.yaml) and personal data (personal_data.py, consent.py). Pure functions; no
HTTP, tokens or SQL."""
