"""The embedded cloud and its request pipeline: authenticate, authorize, record, dispatch.

Both transports, the in-process one for the test process's own boto3 clients and the
HTTP endpoint on 127.0.0.1, hand their requests to :meth:`Cloud.handle_http`. Services
that windtunnel implements itself are registered as providers; every other request goes
to moto.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.awsrequest import HeadersDict

from windtunnel.cloud import routing
from windtunnel.cloud.dataplane import DataPlaneHandler
from windtunnel.cloud.messages import AwsRequest, AwsResponse
from windtunnel.cloud.moto_corrections import (
    allow_inline_policies_without_version,
    authorize_sns_deliveries,
    deliver_rule_targets_moto_lacks,
    detach_moto_event_source_mappings,
    match_event_source_mappings_by_name_or_arn,
    match_rules_with_eventbridge_patterns,
    set_delivery_authorizer,
    validate_bucket_notification_destinations,
)
from windtunnel.cloud.moto_dispatch import (
    MotoDispatcher,
    OperationNotImplemented,
    ServiceNotEmulated,
    cache_moto_name_conversions,
)
from windtunnel.cloud.protocols import AwsError, render_error
from windtunnel.cloud.s3_corrections import evaluate_bucket_policies_with_conditions
from windtunnel.cloud.s3_notifications import route_bucket_notifications
from windtunnel.cloud.signatures import SignatureMismatch, verify_signature
from windtunnel.cloud.state import BackendSnapshot, restore_backends, snapshot_backends
from windtunnel.cloud.token_clock import issue_cognito_tokens_on
from windtunnel.cloud.websocket import WebSocketPlaneHandler
from windtunnel.constants import DEFAULT_ACCOUNT_ID, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REGION
from windtunnel.iam.enforcement import AccessDenied, Authorizer, IamMode, RoleSession

__all__ = ["ADMIN_ACCESS_KEY", "CallRecord", "Cloud", "Provider"]

logger = logging.getLogger(__name__)

# Credentials of the administrator principal that windtunnel's own clients use.
ADMIN_ACCESS_KEY = "AKIAWINDTUNNELADMIN0"
ADMIN_SECRET_KEY = "windtunnel-admin-secret"

# boto3 sessions are not safe for creating clients from several threads at once.
_client_creation_lock = threading.Lock()

_RANDOM_SEED = 20101

# How many calls the recorder keeps; older ones are dropped first.
_MAX_RECORDED_CALLS = 10_000


class Provider(Protocol):
    """A service that windtunnel implements itself instead of moto."""

    service: str
    """The signing name of the service it implements (``cloudformation``)."""

    def handle(self, request: AwsRequest) -> AwsResponse | None:
        """Handle one request for the service and return the response, or return None to
        leave the request to moto."""


@dataclass(frozen=True)
class CallRecord:
    """One AWS API call that the embedded cloud handled."""

    service: str
    operation: str | None
    region: str
    access_key: str | None
    status: int
    duration: float
    """Seconds the pipeline spent on the call."""


SideEffect = Callable[[AwsRequest, AwsResponse], None]


class Cloud:
    """An embedded, in-process emulation of AWS for one account.

    moto keeps service state in module-level objects, so one process contains one cloud's
    state at a time: creating a cloud starts from empty services, and a cloud created
    earlier in the same process reads the same (new) state. Separate processes, such as
    pytest-xdist workers, each have their own.
    """

    def __init__(self, *, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT_ID,
                 endpoint_url: str | None = None,
                 iam_mode: IamMode | str = IamMode.ENFORCE) -> None:
        from moto.core.base_backend import BackendDict
        from moto.moto_api._internal import mock_random

        BackendDict.reset()
        # Generated IDs (API IDs, request IDs, ...) come from moto's random source; a fixed
        # seed makes them the same on every run.
        mock_random.seed(_RANDOM_SEED)
        self.region = region
        self.account_id = account_id
        self.endpoint_url = endpoint_url or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
        self.calls: deque[CallRecord] = deque(maxlen=_MAX_RECORDED_CALLS)
        self.authorizer = Authorizer(account_id, mode=iam_mode)
        """The IAM stage: principals, policies, decisions and their records."""
        self.service_state: dict[str, Any] = {}
        """State that windtunnel keeps for services itself, by service name; snapshots
        and resets include it with moto's."""
        self._providers: dict[str, Provider] = {}
        self._side_effects: list[SideEffect] = []
        self._before_dispatch: list[Callable[[AwsRequest], None]] = []
        self.data_planes: dict[str, DataPlaneHandler] = {}
        self.websocket_planes: dict[str, WebSocketPlaneHandler] = {}
        self._moto = MotoDispatcher()
        cache_moto_name_conversions()
        self.add_side_effect(detach_moto_event_source_mappings)
        allow_inline_policies_without_version()
        match_event_source_mappings_by_name_or_arn()
        deliver_rule_targets_moto_lacks()
        match_rules_with_eventbridge_patterns()
        authorize_sns_deliveries()
        validate_bucket_notification_destinations()
        set_delivery_authorizer(self._authorize_delivery)
        issue_cognito_tokens_on(lambda: self.authorizer.clock().timestamp())
        evaluate_bucket_policies_with_conditions()
        route_bucket_notifications()
        self._clients: dict[tuple[str, str], Any] = {}
        from windtunnel.services.ssm.provider import LocalizedValuesProvider
        from windtunnel.services.sts.provider import StsProvider

        self.register(StsProvider(self))
        self.register(LocalizedValuesProvider(self, "ssm"))
        self.register(LocalizedValuesProvider(self, "secretsmanager"))

    # --- extension points ----------------------------------------------------------

    def register_role_session(self, access_key: str, role_arn: str, session_name: str, *,
                              function_name: str | None = None,
                              secret_key: str | None = None,
                              session_token: str | None = None) -> None:
        """Remember that ``access_key`` belongs to a session of ``role_arn``.

        ``function_name`` names the Lambda function whose execution role the session is.
        With ``secret_key`` (and ``session_token``), signatures made with the session's
        credentials are verified.
        """
        self.authorizer.register_session(
            access_key, RoleSession(role_arn, session_name, function_name=function_name,
                                    secret_key=secret_key, session_token=session_token))

    def register(self, provider: Provider) -> None:
        """Handle requests to ``provider.service`` with ``provider`` instead of moto."""
        self._providers[provider.service] = provider

    def register_data_plane(self, plane: str, handler: DataPlaneHandler) -> None:
        """Serve ``/_aws/{plane}/...`` requests with ``handler`` (``execute-api``, ...)."""
        self.data_planes[plane] = handler

    def register_websocket_plane(self, plane: str, handler: WebSocketPlaneHandler) -> None:
        """Accept WebSocket upgrades to ``/_aws/{plane}/...`` with ``handler``."""
        self.websocket_planes[plane] = handler

    def add_before_dispatch(self, hook: Callable[[AwsRequest], None]) -> None:
        """Run ``hook`` before every request is dispatched (to flush pending writes)."""
        self._before_dispatch.append(hook)

    def add_side_effect(self, effect: SideEffect) -> None:
        """Run ``effect`` after every successful request (stream records, deliveries)."""
        self._side_effects.append(effect)

    def _authorize_delivery(self, service_principal: str, action: str, target_arn: str,
                            source_arn: str | None, source_account: str | None) -> bool:
        return self.authorizer.authorize_service(service_principal, action, target_arn,
                                                 source_arn=source_arn,
                                                 source_account=source_account)

    # --- the pipeline --------------------------------------------------------------

    def handle_http(self, method: str, url: str, headers: Any, body: bytes) -> AwsResponse:
        """Route a raw HTTP request from either transport and return the response."""
        headers = _text_headers(headers)
        signature = routing.read_signature(headers, url)
        if signature is None:
            unsigned = routing.read_unsigned_service(headers, body, url)
            if unsigned is None:
                return _unsigned_request_error(headers)
            # Operations that take no signature act as no principal in particular; they
            # run as the administrator, which IAM does not check.
            signature = routing.Signature(access_key="", region=self.region,
                                          service=unsigned[0])
        issued = self.authorizer.issued_credentials(signature.access_key)
        presigned = not headers.get("Authorization") and signature.access_key != ""
        if issued is not None or presigned:
            # A presigned URL is checked for expiry on the stack's clock also when its key
            # was not issued here (the signature of such a key cannot be checked).
            secret, token = issued if issued is not None else (None, None)
            try:
                verify_signature(method, url, headers, body, secret, token,
                                 now=self.authorizer.clock())
            except SignatureMismatch as error:
                return render_error(signature.service, error)
        request = AwsRequest(
            method=method,
            url=routing.canonical_url(url, signature.service, signature.region, headers),
            headers=headers,
            body=body,
            service=signature.service,
            region=signature.region,
            access_key=signature.access_key,
            operation=routing.operation_of(headers, body, url),
        )
        if request.operation is None:
            request.operation = _rest_operation(request)
        return self.handle(request)

    def handle(self, request: AwsRequest) -> AwsResponse:
        """Run ``request`` through every stage of the pipeline."""
        started = time.perf_counter()
        try:
            self._authenticate(request)
            self._authorize(request)
            response = self._dispatch(request)
            if (response.status == 404 and request.service == "s3"
                    and not self.authorizer.may_list_bucket_of(
                        request, request.context["principal"])):
                raise AwsError("AccessDenied", "Access Denied", status=403)
        except AccessDenied as denial:
            response = render_error(request.service, access_denied_error(denial))
        except AwsError as error:
            response = render_error(request.service, error)
        except Exception as error:
            # An emulation bug must not reach the caller as a Python exception, nor stop
            # the server: the caller gets AWS's InternalFailure and the log the traceback.
            logger.exception("internal error in %s %s", request.service, request.operation)
            response = render_error(request.service, AwsError(
                "InternalFailure",
                f"windtunnel failed to handle {request.service} {request.operation or ''}: "
                f"{type(error).__name__}: {error}. Please report it.",
                status=500, sender_fault=False))
        self._record(request, response, time.perf_counter() - started)
        if response.status < 400:
            if request.service == "iam":
                self.authorizer.invalidate()
            for effect in self._side_effects:
                effect(request, response)
        return response

    def _authenticate(self, request: AwsRequest) -> None:
        # Keys that windtunnel issued (role sessions, IAM users' access keys) name their
        # owner. Every other key is the administrator, so setups with dummy credentials
        # keep working.
        request.context["principal"] = self.authorizer.principal_for(request.access_key)

    def _authorize(self, request: AwsRequest) -> None:
        self.authorizer.authorize(request, request.context["principal"])

    def _record(self, request: AwsRequest, response: AwsResponse, duration: float) -> None:
        self.calls.append(CallRecord(
            service=request.service,
            operation=request.operation,
            region=request.region,
            access_key=request.access_key,
            status=response.status,
            duration=duration,
        ))

    def _dispatch(self, request: AwsRequest) -> AwsResponse:
        for hook in self._before_dispatch:
            hook(request)
        provider = self._providers.get(request.service)
        if provider is not None:
            response = provider.handle(request)
            if response is not None:
                return response
        return self.dispatch_to_moto(request)

    def dispatch_to_moto(self, request: AwsRequest) -> AwsResponse:
        """Dispatch ``request`` to moto; providers call this to build on moto's result."""
        try:
            return self._moto.dispatch(request)
        except OperationNotImplemented:
            raise _not_implemented(request) from None
        except ServiceNotEmulated:
            raise AwsError(
                "NotImplemented",
                f"windtunnel does not emulate the {request.service} service. Requests to it "
                f"cannot be answered locally.",
                status=501,
                sender_fault=False,
            ) from None

    # --- clients -------------------------------------------------------------------

    def client(self, service: str, region: str | None = None) -> Any:
        """Return a boto3 client whose requests this cloud handles in process."""
        region = region or self.region
        key = (service, region)
        with _client_creation_lock:
            client = self._clients.get(key)
            if client is None:
                client = self._boto3_session().client(service, region_name=region)
                from windtunnel.cloud.inprocess import attach

                attach(client, self)
                self._clients[key] = client
        return client

    def role_session_credentials(self, role_arn: str, session_name: str
                                 ) -> tuple[str, str, str]:
        """Issue the credentials of a session of ``role_arn``: key ID, secret and token.

        They are registered, so requests signed with them act as that session and IAM
        decides them as the role's.
        """
        from windtunnel.runtime.variables import role_credentials

        access_key, secret, token = role_credentials(role_arn, session_name)
        self.register_role_session(access_key, role_arn, session_name, secret_key=secret,
                                   session_token=token)
        return access_key, secret, token

    def role_client(self, service: str, role_arn: str, session_name: str) -> Any:
        """Create a boto3 client signed as a session of ``role_arn``, handled in process.

        Services that act with a role (Step Functions, AppSync data sources, EventBridge
        targets) call other services through it, so IAM checks the role's permissions.
        """
        import boto3
        from botocore.config import Config

        from windtunnel.cloud.inprocess import attach

        access_key, secret, token = self.role_session_credentials(role_arn, session_name)
        session = boto3.session.Session(aws_access_key_id=access_key,
                                        aws_secret_access_key=secret,
                                        aws_session_token=token, region_name=self.region)
        client = session.client(service, endpoint_url=self.endpoint_url,
                                config=Config(retries={"max_attempts": 1,
                                                       "mode": "standard"}))
        return attach(client, self)

    def resource(self, service: str, region: str | None = None) -> Any:
        """Return a boto3 resource whose requests this cloud handles in process."""
        from windtunnel.cloud.inprocess import attach

        with _client_creation_lock:
            resource = self._boto3_session().resource(service,
                                                      region_name=region or self.region)
        attach(resource.meta.client, self)
        return resource

    def _boto3_session(self) -> Any:
        return _admin_session()

    # --- state ---------------------------------------------------------------------

    def snapshot(self) -> BackendSnapshot:
        """Copy the state of every service, for :meth:`restore`."""
        return snapshot_backends(self.service_state)

    def restore(self, snapshot: BackendSnapshot) -> None:
        """Put every service back to the state of ``snapshot``."""
        restore_backends(snapshot, self.service_state)
        self.authorizer.invalidate()


def _rest_operation(request: AwsRequest) -> str | None:
    """Name the operation of a REST-JSON request (Lambda, API Gateway, AppSync...)."""
    from windtunnel.cloud.protocols import protocol_of, service_model

    # S3 (rest-xml) distinguishes operations by virtual-host buckets, headers and query
    # values, which URI templates alone would misname; it is left unnamed.
    if protocol_of(request.service) != "rest-json":
        return None
    try:
        model = service_model(request.service)
    except Exception:
        return None
    return routing.rest_operation_of(model, request.method, request.url)


# The error each service returns for a request that IAM denies, when it differs from the
# protocol's default (AccessDeniedException with status 400 for JSON protocols, AccessDenied
# with status 403 for the query and REST-XML protocols). Codes and statuses come from the
# services' API models (the error shapes named AccessDeniedException, AuthorizationError
# and AccessDenied) and their API references.
_ACCESS_DENIED_ERRORS: dict[str, tuple[str, int]] = {
    "lambda": ("AccessDeniedException", 403),
    "appsync": ("AccessDeniedException", 403),
    "apigateway": ("AccessDeniedException", 403),
    "sns": ("AuthorizationError", 403),
    # NOTE: SQS speaks JSON with query-compatible error codes, and its code for an IAM
    # denial (AccessDenied, 403) is taken from its query-protocol documentation.
    "sqs": ("AccessDenied", 403),
}


def access_denied_error(denial: AccessDenied) -> AwsError:
    """Return the error that ``denial.service`` sends when IAM denies a request."""
    from windtunnel.cloud.protocols import protocol_of

    known = _ACCESS_DENIED_ERRORS.get(denial.service)
    if known is None:
        known = (("AccessDeniedException", 400) if protocol_of(denial.service) == "json"
                 else ("AccessDenied", 403))
    code, status = known
    return AwsError(code, denial.message, status=status)


def _text_headers(headers: Any) -> HeadersDict:
    """Copy headers into a case-insensitive mapping of text values (botocore signs bytes)."""
    text = HeadersDict()
    for key, value in headers.items():
        text[key] = value.decode("latin-1") if isinstance(value, bytes) else value
    return text


@functools.cache
def _admin_session() -> Any:
    """Return one boto3 session for every cloud in the process.

    Clients of one session share botocore's cache of service models, which makes creating
    a client cheap after the first one per service. Region is chosen per client.
    """
    import boto3

    return boto3.session.Session(
        aws_access_key_id=ADMIN_ACCESS_KEY,
        aws_secret_access_key=ADMIN_SECRET_KEY,
        region_name=DEFAULT_REGION,
    )


def _not_implemented(request: AwsRequest) -> AwsError:
    operation = request.operation or f"{request.method} {request.path}"
    return AwsError(
        "NotImplemented",
        f"windtunnel does not emulate the {request.service} operation {operation} yet.",
        status=501,
        sender_fault=False,
    )


def _unsigned_request_error(headers: HeadersDict) -> AwsResponse:
    error = AwsError(
        "MissingAuthenticationToken",
        "Request is missing Authentication Token. Sign requests with AWS Signature Version 4 "
        "(any AWS SDK does this); the credentials may be dummy values such as test/test.",
        status=403,
    )
    # A request with X-Amz-Target speaks a JSON protocol and expects a JSON error; any
    # other gets the query protocol's XML, which REST clients also read.
    return render_error("dynamodb" if headers.get("X-Amz-Target") else "sts", error)
