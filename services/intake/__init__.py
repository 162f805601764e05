"""Intake: referral, eligibility and enrolment of clients (the Client aggregate)."""
