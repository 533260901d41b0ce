"""The answers the AWS stand-in gives for operations moto does not serve are shapes AWS's own
service model accepts (botocore's Stubber validates a response against the model)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from benchmarks.bench_diagnose_cli import NOT_IN_MOTO

METHODS = {
    "DescribeRepositoryCreationTemplates": "describe_repository_creation_templates",
    "GetSigningConfiguration": "get_signing_configuration",
}


@pytest.mark.parametrize("operation", sorted(NOT_IN_MOTO))
def test_each_canned_answer_is_a_valid_ecr_response(operation: str) -> None:
    client = boto3.client(
        "ecr", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_response(METHODS[operation], NOT_IN_MOTO[operation])  # validates the shape
        answer = getattr(client, METHODS[operation])()
    assert answer["registryId"] == "123456789012"
