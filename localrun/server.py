"""The whole API on 127.0.0.1, on the embedded backend: no AWS account, no Docker.

Routes come from ``template.yaml`` and go to the same handlers Lambda would run, as API Gateway
(payload v2) events. The backend is moto in this process; sends land in the local outbox.

    python -m localrun.server [--port 3000] [--no-quiet-hours]

Functions behind queues run as Lambda's SQS event sources would run them (the link sender, the
campaign planner and sender), due one-time schedules (a campaign's start) fire as EventBridge
Scheduler would fire them (see :class:`localrun.aws.LocalScheduler`), and the template's recurring
``rate(...)`` schedules (the purge, the consent renewal) run at their rate with their input;
``POST /_local/jobs/run`` runs each of them once now.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from localrun.aws import (
    DEV_SECRETS,
    LOCAL_ENVIRONMENT,
    LOCAL_PRINCIPALS,
    QUEUE_URLS,
    LocalScheduler,
    StreamPoller,
    create_campaign_queues,
    create_data_key,
    create_link_queue,
    create_tables,
    deliver_batch,
    drain_link_queue,
    seed_secrets,
)
from localrun.dev_signin import PATHS as DEV_SIGNIN_PATHS
from localrun.dev_signin import SAMPLE_USERS, DevIssuer, desk_environment
from localrun.jwt_authorizer import Unauthorized
from localrun.pages import PAGES, PageRequest
from localrun.pages import serve as serve_page
from localrun.template import QueueConsumer, RateSchedule, Route, queue_consumers, rate_schedules, routes

MAX_BODY = 10 * 1024 * 1024  # API Gateway's limit
# The campaign sender holds the shared lock for one send at a time, so that requests go on while a
# campaign is sent (moto makes each DynamoDB transaction slow, and each send takes two): one send job
# per invocation (Lambda's batches are "up to" the template's BatchSize), and one recipient per job
# (the configuration's ``campaigns.recipients_per_job``, set by :func:`use_base_url`).
LOCAL_BATCH_SIZE = {"SendQueue": 1}
LOCAL_RECIPIENTS_PER_JOB = 1
CORS_PREFLIGHT = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "content-type",
    "Access-Control-Max-Age": "600",
}


@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    pattern: re.Pattern[str]


def compile_routes(found: list[Route]) -> list[CompiledRoute]:
    compiled = []
    for route in found:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
        compiled.append(CompiledRoute(route, re.compile(f"^{regex}$")))
    # Literal routes before parameterised ones, as API Gateway prefers the most specific match.
    return sorted(compiled, key=lambda c: c.route.path.count("{"))


_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "application/x-www-form")


def is_text(content_type: str, body: bytes) -> bool:
    """Whether API Gateway would hand the body over as text; otherwise it arrives base64-encoded."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return not media or media.startswith(_TEXT_TYPES)


GATEWAY_ERROR = {
    "statusCode": 500,
    "headers": {"content-type": "application/json"},
    "body": '{"message":"Internal Server Error"}',
}


class LocalApi:
    def __init__(self, issuer: DevIssuer | None = None) -> None:
        from localrun.functions import load_function

        self.issuer = issuer or DevIssuer("http://127.0.0.1")  # Cognito's part: the sign-in and its key

        self.routes = compile_routes(routes())
        self.modules = {c.route.code_uri: load_function(c.route.code_uri) for c in self.routes}
        self.lock = threading.Lock()  # one invocation at a time, like one warm Lambda container
        self.link_sender = load_function("functions/linksender")
        self.retention = load_function("functions/retention")
        self.outbox = load_function("functions/outbox")
        self.stream: StreamPoller | None = None  # the table's stream, once the backend runs
        self.queue_consumers = {c.queue: c for c in queue_consumers()}
        self.queue_functions = {c.queue: load_function(c.code_uri) for c in self.queue_consumers.values()}
        self.recurring = {s.function: s for s in rate_schedules()}
        self.recurring_functions = {s.function: load_function(s.code_uri) for s in self.recurring.values()}

    def run_recurring(self, schedule: RateSchedule) -> dict[str, Any]:
        """One run of a recurring schedule's function with the schedule's input (as EventBridge Scheduler)."""
        from localrun.functions import LambdaContext

        with self.lock:
            result: dict[str, Any] = self.recurring_functions[schedule.function].lambda_handler(
                dict(schedule.input), LambdaContext()
            )
        return result

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for compiled in self.routes:
            found = compiled.pattern.match(path)
            if found and compiled.route.method == method:
                return compiled.route, found.groupdict()
        return None

    def invoke(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes, ip: str
    ) -> dict[str, Any]:
        from localrun.events import http_event, iam_authorizer
        from localrun.functions import LambdaContext

        matched = self.match(method, path)
        if matched is None:
            return {
                "statusCode": 404,
                "headers": {"content-type": "application/json"},
                "body": '{"message":"Not Found"}',
            }
        route, params = matched
        authorizer = None
        if route.jwt_authorizer:  # API Gateway's JWT authorizer, with the development issuer for Cognito
            try:
                authorizer = self.issuer.authorize(headers.get("authorization"))
            except Unauthorized as refused:
                return refused.answer()
        if route.iam_auth:  # API Gateway checks the request's IAM signature; a bearer token locally
            principal = local_principal(headers.get("authorization", ""))
            if principal is None:
                return {
                    "statusCode": 403,
                    "headers": {"content-type": "application/json"},
                    "body": '{"message":"Forbidden"}',
                }
            authorizer = iam_authorizer(principal)
        event = http_event(
            method,
            path,
            route_path=route.path,
            path_parameters=params or None,
            body=body or None,
            headers=headers,
            query=dict(parse_qsl(query)) or None,
            source_ip=ip,
            base64_body=not is_text(headers.get("content-type", ""), body),
            authorizer=authorizer,
        )
        event["rawQueryString"] = query
        with self.lock:
            response: dict[str, Any] = self.modules[route.code_uri].lambda_handler(event, LambdaContext())
            self.drain_stream()  # Lambda delivers the stream's records within a second or so: answers at once
        return response

    def drain_stream(self) -> None:
        """Lambda's DynamoDB stream event sources (the retention function, the outbox sender); the
        caller holds the lock. A failed batch is logged and comes again, as Lambda retries it."""
        from localrun.functions import LambdaContext

        if self.stream is None:
            return
        for function, module in (("RetentionFunction", self.retention), ("OutboxFunction", self.outbox)):
            try:
                self.stream.drain(function, module.lambda_handler, LambdaContext())
            except Exception as error:  # retried on the next round
                print(f"{function} failed, retried: {type(error).__name__}", file=sys.stderr)


def poll_link_queue(api: LocalApi, sqs: Any, stop: threading.Event, interval: float = 0.2) -> None:
    """Lambda's SQS event source for the link sender: deliver queued jobs as they arrive."""
    from localrun.functions import LambdaContext

    while not stop.wait(interval):
        with api.lock:
            drain_link_queue(sqs, api.link_sender.lambda_handler, LambdaContext())


def local_principal(authorization: str) -> str | None:
    """The IAM principal a local bearer token stands for (None: API Gateway's 403)."""
    scheme, _, token = authorization.partition(" ")
    return LOCAL_PRINCIPALS.get(token.strip()) if scheme.lower() == "bearer" else None


def poll_queue(api: LocalApi, sqs: Any, consumer: QueueConsumer, stop: threading.Event, interval: float = 0.2) -> None:
    """Lambda's SQS event source for ``consumer``: batches from its queue while there are jobs, each
    invocation under the shared lock, which is let go between batches (jobs delayed by SQS wait)."""
    from localrun.functions import LambdaContext

    handler = api.queue_functions[consumer.queue].lambda_handler
    url = QUEUE_URLS[consumer.queue]
    size = LOCAL_BATCH_SIZE.get(consumer.queue, consumer.batch_size)
    while not stop.wait(interval):
        while not stop.is_set():
            with api.lock:
                try:
                    received, _ = deliver_batch(sqs, handler, LambdaContext(), url, size)
                except Exception as error:  # the batch comes back after the visibility timeout, as in SQS
                    print(f"{consumer.function} failed, retried: {type(error).__name__}", file=sys.stderr)
                    received = 0
            if not received:
                break
            time.sleep(0.005)  # let a waiting request have the lock before the next batch


def poll_schedules(
    api: LocalApi,
    scheduler: LocalScheduler,
    stop: threading.Event,
    interval: float = 1.0,
    clock: Callable[[], float] = time.time,
) -> None:
    """EventBridge Scheduler: fire the one-time schedules that are due (a campaign's start job)."""
    while not stop.wait(interval):
        with api.lock:
            try:
                scheduler.fire_due(clock())
            except Exception as error:  # tried again on the next round
                print(f"schedules not fired, retried: {type(error).__name__}", file=sys.stderr)


def poll_recurring(
    api: LocalApi, schedule: RateSchedule, stop: threading.Event, clock: Callable[[], float] = time.time
) -> None:
    """EventBridge Scheduler's recurring schedule for one function: a run at start, then one per period."""
    due = clock()
    while not stop.wait(max(0.0, min(due - clock(), 1.0))):
        if clock() < due:
            continue
        due += schedule.every_seconds
        try:
            api.run_recurring(schedule)
        except Exception as error:  # the next period runs it again, as the schedule's retries would
            print(f"{schedule.function} failed: {type(error).__name__}", file=sys.stderr)


def poll_stream(api: LocalApi, stop: threading.Event, interval: float = 0.5) -> None:
    """The stream's event sources between requests too: what the queues' functions wrote, and the
    batches that failed (they come again)."""
    while not stop.wait(interval):
        with api.lock:
            api.drain_stream()


def start_event_sources(api: LocalApi, sqs: Any, scheduler: LocalScheduler) -> threading.Event:
    """Lambda's event sources and EventBridge's schedules, each a thread; set the event to stop them."""
    stop = threading.Event()
    threading.Thread(target=poll_link_queue, args=(api, sqs, stop), daemon=True).start()
    threading.Thread(target=poll_stream, args=(api, stop), daemon=True).start()
    for queue in ("PlanQueue", "SendQueue"):
        consumer = api.queue_consumers[queue]
        threading.Thread(target=poll_queue, args=(api, sqs, consumer, stop), daemon=True).start()
    threading.Thread(target=poll_schedules, args=(api, scheduler, stop), daemon=True).start()
    for recurring in api.recurring.values():
        threading.Thread(target=poll_recurring, args=(api, recurring, stop), daemon=True).start()
    return stop


class LocalHandler(BaseHTTPRequestHandler):
    """API Gateway's part in the local run: HTTP in, payload v2 events to the functions, HTTP out."""

    api: LocalApi
    scheduler: LocalScheduler | None = None
    server_version = "chatconsent-local"

    def _serve(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/_local/outbox" and self.command == "GET":
            return self._local_outbox()
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            return self._send(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if url.path in PAGES:
            return self._local_page(url.path, url.query, body)
        if url.path in DEV_SIGNIN_PATHS:  # Cognito's hosted UI and JWKS, played locally
            answer = self.api.issuer.handle(self.command, url.path, url.query, body)
            return self._send(answer.status, answer.headers, answer.body)
        if self.command == "OPTIONS":  # CORS preflight, answered by API Gateway in AWS
            return self._send(204, dict(CORS_PREFLIGHT), b"")
        try:
            response = self.api.invoke(self.command, url.path, url.query, headers, body, self.client_address[0])
        except Exception as error:  # a function that fails: API Gateway answers 500 for it, the connection stays
            sys.stderr.write(f"function failed: {type(error).__name__}\n")  # the type only: no request data
            response = dict(GATEWAY_ERROR)
        self._answer(response, cors="origin" in headers)

    def _answer(self, response: dict[str, Any], cors: bool) -> None:
        """API Gateway's part: the function's answer (payload v2) as an HTTP response."""
        if cors:  # the template's CorsConfiguration (the local run allows any origin)
            response.setdefault("headers", {})["Access-Control-Allow-Origin"] = "*"
        payload = response.get("body") or ""
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        if response.get("isBase64Encoded"):
            import base64

            data = base64.b64decode(data)
        self._send(int(response["statusCode"]), response.get("headers") or {}, data)

    def _local_page(self, path: str, query: str, body: bytes) -> None:
        """The playground, its simulated phones and the local jobs (local run only: localrun/pages.py)."""
        request = PageRequest(query, body, self.api, self.scheduler)
        answer = serve_page(self.command, path, request)
        self._send(answer.status, answer.headers, answer.body)

    def _local_outbox(self) -> None:
        from chatconsent.wiring import local_outbox

        messages = [
            {"id": m.id, "channel": m.channel, "to": m.recipient, "payload": m.payload} for m in local_outbox().messages
        ]
        self._send(200, {"content-type": "application/json"}, json.dumps(messages).encode())

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        if args and isinstance(args[0], str):
            sys.stderr.write(access_line(self.api, args[0], args[1] if len(args) > 1 else "") + "\n")


def make_handler(api: LocalApi, scheduler: LocalScheduler | None = None) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (LocalHandler,), {"api": api, "scheduler": scheduler})


def access_line(api: LocalApi, request_line: str, status: object) -> str:
    """Method, route and status only: paths and queries can carry personal data."""
    parts = request_line.split(" ")
    path = urlsplit(parts[1]).path if len(parts) > 1 else "?"
    route = api.match(parts[0], path)
    local = path == "/_local/outbox" or path in PAGES
    shown = route[0].path if route else (path if local else "(no route)")
    return f"{parts[0]} {shown} -> {status}"


def use_base_url(base: str, quiet_hours: bool = True) -> None:
    """The local run's changes to the configuration (a copy in a temporary file; the product reads it
    from ``CHATCONSENT_CONFIG`` as in AWS): links the product sends (confirmation links, notice links)
    point at this server; campaign send jobs carry one recipient each (``LOCAL_RECIPIENTS_PER_JOB``);
    without ``quiet_hours``, campaigns send at any hour (``campaigns.quiet_hours`` off)."""
    from chatconsent.config import current_config, load_config

    config = load_config(os.environ.get("CHATCONSENT_CONFIG") or None)
    data = config.model_dump(mode="json")
    original = json.dumps(data, sort_keys=True)
    data["public_base_url"] = base
    data["campaigns"]["recipients_per_job"] = LOCAL_RECIPIENTS_PER_JOB
    if not quiet_hours:
        data["campaigns"]["quiet_hours"] = None
    if json.dumps(data, sort_keys=True) == original:
        return
    handle, path = tempfile.mkstemp(prefix="chatconsent-local-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(data, file)
    os.environ["CHATCONSENT_CONFIG"] = path
    current_config.cache_clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument(
        "--no-quiet-hours",
        action="store_true",
        help="campaigns send at any hour (the configured quiet hours, in the recipient's time zone, are off)",
    )
    args = parser.parse_args(argv)

    os.environ.update(LOCAL_ENVIRONMENT)
    from moto import mock_aws

    with mock_aws():
        import boto3

        dynamodb = boto3.client("dynamodb")
        create_tables(dynamodb)
        seed_secrets(boto3.client("ssm"))
        create_data_key(boto3.client("kms"))
        sqs = boto3.client("sqs")
        create_link_queue(sqs)
        create_campaign_queues(sqs)
        scheduler = LocalScheduler(boto3.client("scheduler"), sqs)
        server = ThreadingHTTPServer((args.host, args.port), BaseHTTPRequestHandler)
        base = f"http://{args.host}:{server.server_port}"
        use_base_url(base, quiet_hours=not args.no_quiet_hours)
        issuer = DevIssuer(base)  # a new signing key per run
        os.environ.update(desk_environment(issuer))
        api = LocalApi(issuer)
        server.RequestHandlerClass = make_handler(api, scheduler)
        api.stream = StreamPoller(dynamodb)
        print(f"chatconsent local API on {base} (embedded backend, outbox channel)")
        for compiled in api.routes:
            print(f"  {compiled.route.method:6} {base}{compiled.route.path}  -> {compiled.route.function}")
        print(f"  GET    {base}/_local/outbox  (messages the product sent)")
        print(f"  GET    {base}/_local/scheduler  (schedules; POST .../run fires the ones due)")
        print(f"  POST   {base}/_local/jobs/run  (the purge and the consent renewal, once now)")
        print(f"Playground (widget, a simulated phone, campaigns): {base}/playground")
        print(f"Desk: {base}/desk (development sign-in: {', '.join(SAMPLE_USERS)})")
        principals = ", ".join(f"Bearer {token} = {arn}" for token, arn in LOCAL_PRINCIPALS.items())
        print(f"Admin routes (IAM in AWS): Authorization: {principals}")
        if args.no_quiet_hours:
            print("Campaigns send at any hour (--no-quiet-hours)")
        secret, token = DEV_SECRETS["whatsapp/app-secret"], DEV_SECRETS["whatsapp/verify-token"]
        print(f"WhatsApp app secret {secret!r}, verify token {token!r} (development only)")
        sys.stdout.flush()
        stop = start_event_sources(api, sqs, scheduler)  # after the banner: the jobs' first runs log too
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
