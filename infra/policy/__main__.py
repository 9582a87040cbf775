"""Serves the policy pack to the Pulumi CLI; never imported by the program or the tests."""

from pulumi_policy import EnforcementLevel, PolicyPack

from infra.policy.rules import POLICIES

PolicyPack(name="analytics-warehouse", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
