"""API Gateway HTTP API (payload format 2.0) events, as the gateway would build them."""

from __future__ import annotations

import base64
import hashlib
import time
import urllib.parse
import uuid
from typing import Any


def http_event(
    method: str,
    path: str,
    *,
    route_path: str | None = None,
    path_parameters: dict[str, str] | None = None,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    source_ip: str = "198.51.100.7",
    base64_body: bool = False,
    stage: str = "$default",
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route_path or path}",
        "rawPath": path,
        "rawQueryString": urllib.parse.urlencode(query or {}),
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": (headers or {}).get("user-agent", "local"),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {route_path or path}",
            "stage": stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    if query:
        event["queryStringParameters"] = dict(query)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if raw is not None:
        if base64_body:
            event["body"] = base64.b64encode(raw).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = raw.decode("utf-8")
    return event


def iam_authorizer(user_arn: str) -> dict[str, Any]:
    """``requestContext.authorizer`` of a route with IAM authorisation, for the principal that signed."""
    account = user_arn.split(":")[4]
    user_id = "AIDA" + hashlib.sha256(user_arn.encode()).hexdigest()[:17].upper()
    return {
        "iam": {
            "accessKey": "AKIA" + user_id[4:],
            "accountId": account,
            "callerId": user_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": user_arn,
            "userId": user_id,
        }
    }


def sqs_event(messages: list[dict[str, Any]], queue: str = "chatconsent-local-links") -> dict[str, Any]:
    """The event Lambda's SQS event source delivers for received ``messages``."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m.get("ReceiptHandle", ""),
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:eu-central-1:123456789012:{queue}",
                "awsRegion": "eu-central-1",
            }
            for m in messages
        ]
    }
