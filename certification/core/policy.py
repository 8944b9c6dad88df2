"""Who may see and do what (docs/architecture.md), in one place used by every
interface. Visibility comes first: what a caller may not see does not exist for it (404);
then permission (403)."""

from django.utils.translation import gettext as _

from certification.exceptions import NotFound, PermissionDenied
from certification.models import Application, Certificate
from registry.models import Producer, Product, User

Role = User.Role


def _role(user):
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return user.role


# --- Visibility (querysets) ------------------------------------------------------------


def producers_visible_to(user):
    role = _role(user)
    if role == Role.MANUFACTURER:
        return Producer.objects.filter(memberships__user=user)
    if role == Role.SECRETARIAT:
        return Producer.objects.all()
    if role == Role.REVIEWER:
        return Producer.objects.filter(member_state=user.member_state_id)
    return Producer.objects.none()


def products_visible_to(user):
    role = _role(user)
    if role == Role.MANUFACTURER:
        return Product.objects.filter(producer__memberships__user=user)
    if role == Role.SECRETARIAT:
        return Product.objects.all()
    if role == Role.REVIEWER:
        return Product.objects.filter(producer__member_state=user.member_state_id)
    return Product.objects.none()


def applications_visible_to(user):
    """Drafts only to their producer's members (and the secretariat, which reads all);
    reviewers see their own state's applications from submission on."""
    role = _role(user)
    if role == Role.MANUFACTURER:
        return Application.objects.filter(producer__memberships__user=user)
    if role == Role.REVIEWER:
        return Application.objects.filter(
            member_state=user.member_state_id, submitted_at__isnull=False
        )
    if role == Role.SECRETARIAT:
        return Application.objects.all()
    return Application.objects.none()


def certificates_visible_to(user):
    """Holders see their own; reviewers their state's; customs and the secretariat all."""
    role = _role(user)
    if role == Role.MANUFACTURER:
        return Certificate.objects.filter(producer__memberships__user=user)
    if role == Role.REVIEWER:
        return Certificate.objects.filter(member_state=user.member_state_id)
    if role in (Role.CUSTOMS, Role.SECRETARIAT):
        return Certificate.objects.all()
    return Certificate.objects.none()


def can_verify_certificates(user):
    return _role(user) in (Role.CUSTOMS, Role.REVIEWER, Role.SECRETARIAT)


def is_member(user, producer_id):
    return (
        _role(user) == Role.MANUFACTURER
        and user.memberships.filter(producer_id=producer_id).exists()
    )


# --- Checks that raise -------------------------------------------------------------------


def ensure_visible(queryset_for_user, obj):
    """NotFound unless obj is in the caller's visible set."""
    if obj is None or not queryset_for_user.filter(pk=obj.pk).exists():
        raise NotFound()


def ensure_member(user, producer_id):
    if not is_member(user, producer_id):
        raise PermissionDenied(_("Only members of the producer may do this."))


def _ensure_reviewer_of(user, member_state_id, message):
    if _role(user) != Role.REVIEWER or user.member_state_id != member_state_id:
        raise PermissionDenied(message)


def ensure_can_decide(user, application):
    """Only a reviewer of the application's member state decides on it; the secretariat
    reads everything and decides nothing."""
    _ensure_reviewer_of(
        user,
        application.member_state_id,
        _("Only a reviewer of the issuing state may decide on this."),
    )


def ensure_can_attest(user, producer):
    """Only a reviewer of the producer's member state attests its identity (the
    secretariat reads, and attests nothing)."""
    _ensure_reviewer_of(
        user,
        producer.member_state_id,
        _("Only a reviewer of the producer's state may attest its identity."),
    )


def ensure_can_manage_certificate(user, certificate):
    _ensure_reviewer_of(
        user,
        certificate.member_state_id,
        _("Only a reviewer of the issuing state may change this certificate."),
    )


def ensure_secretariat(user):
    """The secretariat's own pages and tasks: the overview of every state, retrying failed
    notifications."""
    if _role(user) != Role.SECRETARIAT:
        raise PermissionDenied(_("Only the regional secretariat may do this."))


def ensure_can_verify(user):
    if not can_verify_certificates(user):
        raise PermissionDenied(_("Only customs officers and reviewers verify certificates."))
