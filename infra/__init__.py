"""The CDK app that deploys Path Prover (stack MlccCiHarnessStack); see docs/deploy.md."""
