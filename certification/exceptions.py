"""One family of domain errors. Services raise them; each interface translates them once
(the API into the JSON error body, the pages into a message). The order in which services
check is the order of docs/architecture.md: NotFound, PermissionDenied,
TransitionNotAllowed (or Conflict), ValidationFailed."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status = 400
    code = "error"
    default_message = _("The request could not be carried out.")

    def __init__(self, message=None, *, fields=None, code=None):
        self.message = str(message or self.default_message)
        self.fields = fields or {}
        if code:
            self.code = code
        super().__init__(self.message)


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _("Not found.")


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
    default_message = _("You may not do this.")


class TransitionNotAllowed(DomainError):
    status = 409
    code = "transition_not_allowed"

    def __init__(self, current, action, message=None):
        self.current = current
        self.action = action
        super().__init__(
            message
            or _("Cannot %(action)s: the current state is %(state)s.")
            % {"action": action.replace("_", " "), "state": current.replace("_", " ")}
        )


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _("This conflicts with an existing record.")


class ValidationFailed(DomainError):
    status = 400
    code = "validation_error"
    default_message = _("The input is not valid.")
