"""template.yaml: what a deployment promises (runtime, encryption, retention, least privilege)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from localrun.aws import DEV_SECRETS
from localrun.template import ROOT, TEMPLATE, load_template, resources, routes

FUNCTIONS = resources("AWS::Serverless::Function")


def test_cfn_lint_passes() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_functions_run_python312_on_arm64_with_the_shared_layer() -> None:
    function_globals = load_template()["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.12"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Layers"] == [{"Ref": "ChatconsentLayer"}]
    layer = load_template()["Resources"]["ChatconsentLayer"]
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    assert (ROOT / layer["Properties"]["ContentUri"] / "requirements.txt").exists()


def test_every_function_has_a_handler_and_a_log_group_with_retention() -> None:
    assert {"OptInFunction", "InboundFunction"} <= set(FUNCTIONS)
    for name, function in FUNCTIONS.items():
        props = function["Properties"]
        handler_file, handler_name = props["Handler"].split(".")
        source = (ROOT / props["CodeUri"] / f"{handler_file}.py").read_text()
        assert f"def {handler_name}(" in source, name
        log_group = load_template()["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_tables_are_encrypted_with_the_customer_key_and_keep_ttl() -> None:
    tables = resources("AWS::DynamoDB::Table")
    for table in tables.values():
        sse = table["Properties"]["SSESpecification"]
        assert sse == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": "DataKey"}}
        assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    main = tables["ChatconsentTable"]["Properties"]
    assert main["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert main["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    # Shredding a data key must also reach backups: no point-in-time copies of the key table.
    keys = tables["SubjectKeyTable"]["Properties"]
    assert keys["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is False
    assert load_template()["Resources"]["DataKey"]["Properties"]["EnableKeyRotation"] is True


def test_no_secret_is_in_the_template() -> None:
    text = TEMPLATE.read_text()
    assert not any(value in text for value in DEV_SECRETS.values())
    parameters = load_template()["Parameters"]
    assert "SecretsPath" in parameters
    for function in FUNCTIONS.values():
        env = function["Properties"].get("Environment", {}).get("Variables", {})
        assert not any("SECRET" in key and key != "SECRETS_PATH" for key in env)


def test_policies_are_least_privilege() -> None:
    for name, function in FUNCTIONS.items():
        statements = [s for policy in function["Properties"]["Policies"] for s in policy["Statement"]]
        actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
        assert not any(a.endswith("*") or a == "*" for a in actions), name
        assert "dynamodb:Scan" not in actions, name  # every path queries; cost never grows with the table
        for statement in statements:
            assert statement["Resource"] != "*", name


def test_access_logs_carry_no_personal_data() -> None:
    log_format = load_template()["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
    fields = json.loads(log_format)
    assert not any(token in log_format for token in ("sourceIp", "path", "identity", "userAgent", "queryString"))
    assert "requestId" in fields


def test_outputs_give_the_api_and_webhook_urls() -> None:
    outputs = load_template()["Outputs"]
    assert {"ApiUrl", "WhatsAppWebhookUrl"} <= set(outputs)


def test_routes_point_at_existing_functions() -> None:
    for route in routes():
        assert (ROOT / route.code_uri / "handler.py").exists()
        assert Path(route.code_uri).parts[0] == "functions"


API_FUNCTIONS = sorted({route.function for route in routes()})


def test_api_functions_start_from_a_snapshot_and_every_event_invokes_the_alias() -> None:
    """SnapStart works on published versions only: every function publishes one behind the alias ``live``
    (SAM then points the routes, the schedule and the queue at the alias), and the parameter turns it off."""
    template = load_template()
    assert template["Globals"]["Function"]["AutoPublishAlias"] == "live"
    assert template["Parameters"]["SnapStart"]["AllowedValues"] == ["Enabled", "Disabled"]
    assert template["Conditions"]["SnapStartEnabled"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "Enabled"]}
    assert set(API_FUNCTIONS) == {
        "OptInFunction",
        "InboundFunction",
        "AppleFunction",
        "TelegramFunction",
        "AdminFunction",
        "ConfirmationFunction",
        "CampaignsFunction",
        "DeskFunction",
    }
    for name, function in FUNCTIONS.items():
        props = function["Properties"]
        assert props.get("AutoPublishAliasAllProperties") is True, name  # a new layer publishes a new version
        assert "AutoPublishAlias" not in props or props["AutoPublishAlias"] == "live", name
        snap_start = props.get("SnapStart")
        if name in API_FUNCTIONS:
            assert snap_start == {"ApplyOn": {"Fn::If": ["SnapStartEnabled", "PublishedVersions", "None"]}}, name
        else:
            assert snap_start is None, name  # the queue and the schedule wait on nobody
