"""Every API error in one shape: {"error": {"code", "message", "fields"?}} (docs/api.md).
Domain errors from the services, DRF's own errors, Django's 404/500 and anything unexpected
all pass through here."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from certification.exceptions import DomainError

logger = logging.getLogger(__name__)

_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
    exceptions.ValidationError: "validation_error",
}


def error_body(code, message, fields=None):
    error = {"code": code, "message": str(message)}
    if fields:
        error["fields"] = fields
    return {"error": error}


def normalise_fields(detail):
    """DRF's error detail as {field: [messages]}; nested lists of per-item errors (as for
    materials) become {index: {...}} keeping only the items that have errors."""
    if isinstance(detail, dict):
        return {str(key): normalise_fields(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if any(isinstance(item, dict) for item in detail):
            return {str(index): normalise_fields(item) for index, item in enumerate(detail) if item}
        return [str(item) for item in detail]
    return [str(detail)]


def _first_message(fields):
    for key, value in fields.items():
        if isinstance(value, dict):
            inner = _first_message(value)
            if inner:
                return f"{key}.{inner}"
        elif value:
            return f"{key}: {value[0]}" if key != "non_field_errors" else value[0]
    return ""


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in %s", context.get("view"))
        return Response(
            error_body("server_error", _("Something went wrong on our side; it was logged.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    code = getattr(exc, "error_code", None) or next(
        (c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error"
    )
    if isinstance(exc, exceptions.ValidationError):
        fields = normalise_fields(
            exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        )
        message = _("The input is not valid: %(first)s") % {"first": _first_message(fields)}
        response.data = error_body(code, message, fields)
    else:
        detail = exc.detail if hasattr(exc, "detail") else str(exc)
        response.data = error_body(code, detail)
    return response


def json_error(status_code, code, message):
    return JsonResponse(error_body(code, message), status=status_code)
