"""Every write of the registry's workflow: one function per transition.

Each function takes a keyword-only `actor`, runs in one transaction, locks the row it
changes, and checks in the order of docs/architecture.md: may the actor see it (NotFound),
may the actor do this (PermissionDenied), is it allowed from this state
(TransitionNotAllowed), is the input valid (ValidationFailed). It then writes the change,
exactly one audit event and the change's outbox events. Slow work (PDF, mail, webhooks)
follows on commit, in tasks.
"""

import hashlib
from dataclasses import dataclass
from decimal import Decimal

import jwt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from certification.core import audit, lifecycle, policy
from certification.core.numbering import format_number
from certification.documents import store
from certification.exceptions import (
    Conflict,
    PermissionDenied,
    TransitionNotAllowed,
    ValidationFailed,
)
from certification.models import (
    DOCUMENT_TYPES,
    Application,
    ApplicationDocument,
    Certificate,
    CertificateCounter,
)
from certification.notifications import outbox
from certification.register import index as register
from certification.verification import signing, status_list
from registry.models import HSCode, Material, Producer, ProducerMembership, Product, User
from registry.selectors import assessment_snapshot, in_language

Status = Application.Status
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def _field_errors(error):
    """A Django ValidationError as {field: [messages]}."""
    if hasattr(error, "error_dict"):
        return {field: list(messages) for field, messages in error.message_dict.items()}
    return {"non_field_errors": list(error.messages)}


def _required_text(value, field, message):
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(message, fields={field: [message]})
    return text


def _lock(model, pk):
    """The row, locked for the rest of the transaction, or None."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    if not 0 < pk < 2**63:  # beyond a bigint: no such row, and SQLite would overflow
        return None
    return model.objects.select_for_update().filter(pk=pk).first()


# --- Accounts ----------------------------------------------------------------------------


def account_register(*, email, password, full_name, language=None):
    """Open a manufacturer account (reviewer, customs and secretariat accounts are made by
    the secretariat: `manage.py create_account`). `language`, when one of the registry's,
    is the account's language; else English."""
    email = email.strip().lower()
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = "en"
    try:
        validate_password(password, User(email=email, full_name=full_name))
    except ValidationError as error:
        raise ValidationFailed(fields={"password": list(error.messages)}) from None
    with transaction.atomic():
        if User.objects.filter(email=email).exists():
            message = _("An account with this email already exists.")
            raise Conflict(message, fields={"email": [message]}, code="duplicate_email")
        user = User.objects.create_user(
            email=email,
            password=password,
            full_name=full_name,
            role=User.Role.MANUFACTURER,
            language=language,
        )
        audit.record(user, "account.registered", user, data={"role": user.role})
    return user


def account_update(*, actor, full_name, language):
    """Change the caller's own name and language (the language of the pages it is shown
    and of the emails it receives)."""
    languages = {code for code, _name in settings.LANGUAGES}
    if language not in languages:
        message = _("Choose one of the languages offered.")
        raise ValidationFailed(message, fields={"language": [message]})
    full_name = (full_name or "").strip()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=actor.pk)
        changed = {
            field: value
            for field, value in (("full_name", full_name), ("language", language))
            if getattr(user, field) != value
        }
        if changed:
            for field, value in changed.items():
                setattr(user, field, value)
            user.save(update_fields=list(changed))
            audit.record(user, "account.updated", user, data={"fields": sorted(changed)})
    return user


# --- Producers ---------------------------------------------------------------------------

PRODUCER_FIELDS = (
    "legal_name",
    "trade_name",
    "kind",
    "member_state",
    "tax_id",
    "address",
    "contact_email",
)


def producer_register(*, actor, data):
    """A manufacturer registers a producer and becomes its first member. A tax id already
    registered in that state is a Conflict: the claimant must be invited by its members."""
    if actor.role != User.Role.MANUFACTURER:
        raise PermissionDenied(_("Only manufacturer accounts register producers."))
    producer = Producer(created_by=actor)
    for field in PRODUCER_FIELDS:
        if field in data and data[field] is not None:
            setattr(producer, field + ("_id" if field == "member_state" else ""), data[field])
    try:
        producer.full_clean(exclude=["created_by", "verified_by"], validate_constraints=False)
    except ValidationError as error:
        raise ValidationFailed(fields=_field_errors(error)) from None
    with transaction.atomic():
        duplicate = Producer.objects.filter(
            member_state_id=producer.member_state_id, tax_id=producer.tax_id
        ).exists()
        if not duplicate:
            try:
                with transaction.atomic():
                    producer.save()
            except IntegrityError:
                duplicate = True
        if duplicate:
            message = _(
                "A producer with this tax id is already registered in this member state; "
                "ask its members to invite you."
            )
            raise Conflict(message, fields={"tax_id": [message]}, code="duplicate_tax_id")
        ProducerMembership.objects.create(user=actor, producer=producer)
        audit.record(actor, "producer.registered", producer, data={"tax_id": producer.tax_id})
    return producer


# What members may change once a producer is registered: its state, tax id and kind
# identify it (and are attested by the first approval), so they stay.
PRODUCER_EDITABLE_FIELDS = ("legal_name", "trade_name", "address", "contact_email")


def producer_update(*, actor, producer_id, data):
    """A member changes the producer's names, address or contact email."""
    with transaction.atomic():
        producer = _lock(Producer, producer_id)
        policy.ensure_visible(policy.producers_visible_to(actor), producer)
        policy.ensure_member(actor, producer.pk)
        changed = {
            field: data[field]
            for field in PRODUCER_EDITABLE_FIELDS
            if field in data and data[field] is not None and getattr(producer, field) != data[field]
        }
        for field, value in changed.items():
            setattr(producer, field, value)
        try:
            producer.full_clean(exclude=["created_by", "verified_by"], validate_constraints=False)
        except ValidationError as error:
            raise ValidationFailed(fields=_field_errors(error)) from None
        if changed:
            producer.save(update_fields=list(changed))
            audit.record(actor, "producer.updated", producer, data={"fields": sorted(changed)})
            if changed.keys() & {"legal_name", "trade_name"}:  # what the register shows
                register.reindex_producer(producer)
    return producer


def producer_invite_member(*, actor, producer_id, email):
    """A member adds another manufacturer account (by its email) to the producer."""
    with transaction.atomic():
        producer = _lock(Producer, producer_id)
        policy.ensure_visible(policy.producers_visible_to(actor), producer)
        policy.ensure_member(actor, producer.pk)
        email = (email or "").strip().lower()
        invitee = User.objects.filter(email=email).first()
        if invitee is None or invitee.role != User.Role.MANUFACTURER:
            message = _("No manufacturer account has this email; ask the person to register first.")
            raise ValidationFailed(message, fields={"email": [message]})
        membership, created = ProducerMembership.objects.get_or_create(
            user=invitee, producer=producer, defaults={"invited_by": actor}
        )
        if not created:
            message = _("This account is already a member of the producer.")
            raise Conflict(message, fields={"email": [message]})
        audit.record(actor, "producer.member_invited", producer, data={"member": invitee.email})
    return membership


def producer_attest(*, actor, producer_id):
    """A reviewer of the producer's state attests its identity (verified_at, verified_by):
    the same effect as approving the producer's first application, for a producer the
    authority has checked before that. Once only: a second attestation is a Conflict."""
    with transaction.atomic():
        producer = _lock(Producer, producer_id)
        policy.ensure_visible(policy.producers_visible_to(actor), producer)
        policy.ensure_can_attest(actor, producer)
        if producer.verified_at is not None:
            raise Conflict(
                _("The producer's identity was attested already, on %(day)s.")
                % {
                    "day": date_format(
                        lifecycle.today_in(producer.member_state, producer.verified_at),
                        "DATE_FORMAT",
                    )
                },
                code="already_attested",
            )
        producer.verified_at = timezone.now()
        producer.verified_by = actor
        producer.save(update_fields=["verified_at", "verified_by"])
        audit.record(actor, "producer.attested", producer, data={"tax_id": producer.tax_id})
        register.reindex_producer(producer)
    return producer


# --- Products ----------------------------------------------------------------------------

PRODUCT_FIELDS = (
    "name",
    "description",
    "hs_code",
    "ex_works_price",
    "currency",
    "process_steps",
    "site",
)
MATERIAL_FIELDS = ("description", "hs_code", "origin_country", "value")


def _build_materials(product, materials):
    """Unsaved Material rows, validated; errors keyed by the material's index."""
    built, errors = [], {}
    for index, item in enumerate(materials):
        material = Material(product=product, position=index)
        for field in MATERIAL_FIELDS:
            if field in item:
                setattr(material, field, item[field])
        try:
            material.full_clean(exclude=["product"])
        except ValidationError as error:
            errors[str(index)] = _field_errors(error)
        built.append(material)
    return built, errors


def _save_product(product, data, materials, *, creating):
    for field in PRODUCT_FIELDS:
        if field in data:
            setattr(product, field + ("_id" if field == "site" else ""), data[field])
    errors = {}
    try:
        product.full_clean(exclude=["producer"])
    except ValidationError as error:
        errors.update(_field_errors(error))
    built = None
    if materials is not None:
        built, material_errors = _build_materials(product, materials)
        if material_errors:
            errors["materials"] = material_errors
    elif not creating and "ex_works_price" in data and not errors:
        # A lower price must not leave a material worth more than the product.
        too_dear = product.materials.filter(value__gt=Decimal(product.ex_works_price))
        if too_dear.exists():
            message = _("A material is worth more than this price; update the materials too.")
            errors["ex_works_price"] = [message]
    if errors:
        raise ValidationFailed(fields=errors)
    product.save()
    if built is not None:
        if not creating:  # the new bill of materials replaces the old one
            product.materials.all().delete()
        for material in built:
            material.product = product
        Material.objects.bulk_create(built)
    return product


def _member_producer(actor, producer_id):
    """The producer a new product goes to, locked: one the actor is a member of."""
    producer = _lock(Producer, producer_id)
    if producer is None or not policy.is_member(actor, producer.pk):
        message = _("Choose a producer you are a member of.")
        raise ValidationFailed(message, fields={"producer": [message]})
    return producer


def product_create(*, actor, producer_id, data, materials=()):
    with transaction.atomic():
        producer = _member_producer(actor, producer_id)
        product = _save_product(Product(producer=producer), data, list(materials), creating=True)
        audit.record(actor, "product.created", product, data={"materials": len(materials)})
    return product


def products_import(*, actor, producer_id, products, check_only=False):
    """Create many products of one producer at once, all or none: each item of `products`
    is {"data": ..., "materials": [...]} as product_create takes them, checked and audited
    as product_create does, all in one transaction. If any item is invalid nothing is
    saved, and the refusal names every invalid item by its index in `products`:
    fields={"products": {"3": <that product's errors, its materials' under "materials">}}.
    Returns the products created, in the order given; with `check_only`, the same checks
    and refusal, but nothing is ever saved (returns [])."""
    products = list(products)
    with transaction.atomic():
        producer = _member_producer(actor, producer_id)
        if not products:
            message = _("There is no product to import.")
            raise ValidationFailed(message, fields={"products": [message]})
        created, errors = [], {}
        for index, item in enumerate(products):
            materials = list(item.get("materials") or ())
            try:
                product = _save_product(
                    Product(producer=producer), item.get("data") or {}, materials, creating=True
                )
            except ValidationFailed as error:
                errors[str(index)] = error.fields
                continue
            created.append((product, len(materials)))
        if errors:
            message = _("%(count)d of the %(total)d products are not valid; none was saved.") % {
                "count": len(errors),
                "total": len(products),
            }
            raise ValidationFailed(message, fields={"products": errors})
        if check_only:
            transaction.set_rollback(True)
            return []
        # Audited last: appending locks the one chain head every transition waits on, so
        # it is taken once the whole file is checked, not while row after row is.
        for product, material_count in created:
            audit.record(
                actor,
                "product.created",
                product,
                data={"materials": material_count, "imported": True},
            )
    return [product for product, _count in created]


def product_update(*, actor, product_id, data, materials=None):
    """Change a product; `materials`, when given, replaces the whole bill of materials.
    Applications already submitted keep the snapshot they were submitted with, and
    certificates what they certified: the public register shows the certificate's
    snapshot, so a product edit leaves it as it is."""
    with transaction.atomic():
        product = _lock(Product, product_id)
        policy.ensure_visible(policy.products_visible_to(actor), product)
        policy.ensure_member(actor, product.producer_id)
        _save_product(product, data, None if materials is None else list(materials), creating=False)
        audit.record(
            actor,
            "product.updated",
            product,
            data={"fields": sorted(data), "materials_replaced": materials is not None},
        )
    return product


def _product_snapshot(product):
    hs = product.hs_code
    return {
        "id": product.pk,
        "name": product.name,
        "description": product.description,
        "hs_code": hs,
        "hs_description": HSCode.objects.filter(code=hs)
        .values_list("description", flat=True)
        .first()
        or "",
        "ex_works_price": str(product.ex_works_price),
        "currency": product.currency,
        "process_steps": list(product.process_steps),
        "materials": [
            {
                "description": m.description,
                "hs_code": m.hs_code,
                "origin_country": m.origin_country,
                "value": str(m.value),
            }
            for m in product.materials.order_by("position", "id")
        ],
    }


def _producer_snapshot(producer):
    return {
        "id": producer.pk,
        "legal_name": producer.legal_name,
        "trade_name": producer.trade_name,
        "kind": producer.kind,
        "tax_id": producer.tax_id,
        "address": producer.address,
        "member_state": producer.member_state_id,
    }


# --- Applications ------------------------------------------------------------------------


def application_create(*, actor, product_id, renews_number=None):
    with transaction.atomic():
        product = _lock(Product, product_id)
        if product is None or not policy.is_member(actor, product.producer_id):
            message = _("Choose a product of a producer you are a member of.")
            raise ValidationFailed(message, fields={"product": [message]})
        renews = None
        if renews_number:
            renews = Certificate.objects.filter(
                number=str(renews_number).strip().upper(), producer_id=product.producer_id
            ).first()
            problem = (
                _("No certificate of this producer has this number.")
                if renews is None
                else lifecycle.renewal_problem(renews, product.pk)
            )
            if problem:
                raise ValidationFailed(problem, fields={"renews": [problem]})
        application = Application.objects.create(
            product=product,
            producer=product.producer,
            member_state=product.producer.member_state,
            renews=renews,
            created_by=actor,
        )
        audit.record(
            actor,
            "application.created",
            application,
            to_state=Status.DRAFT,
            data={"product": product.pk, "renews": renews.number if renews else None},
        )
    return application


def _locked_application(actor, application_id):
    application = _lock(Application, application_id)
    policy.ensure_visible(policy.applications_visible_to(actor), application)
    return application


# The states each of an application's transitions starts from: the services enforce it,
# the pages ask it (application_allows) to offer only what would be accepted.
ALLOWED_FROM = {
    "submit": (Status.DRAFT, Status.CHANGES_REQUESTED),
    "withdraw": (Status.DRAFT, Status.SUBMITTED, Status.CHANGES_REQUESTED),
    "add a document": (Status.DRAFT, Status.CHANGES_REQUESTED),
    "start review": (Status.SUBMITTED,),
    "request changes": (Status.UNDER_REVIEW,),
    "reject": (Status.UNDER_REVIEW,),
    "approve": (Status.UNDER_REVIEW,),
}


def application_allows(application, action):
    """Whether `action` (a key of ALLOWED_FROM) may start from the application's state."""
    return application.status in ALLOWED_FROM[action]


def _require_state(application, action):
    if not application_allows(application, action):
        raise TransitionNotAllowed(application.status, action)


def _move(application, actor, action, to_state, *, comment="", data=None, fields=()):
    from_state = application.status
    application.status = to_state
    application.save(update_fields=["status", "updated_at", *fields])
    audit.record(
        actor,
        action,
        application,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        data=data,
    )


def application_submit(*, actor, application_id):
    """Submit (or resubmit after changes were requested). The origin assessment is
    computed now and snapshotted with the product: the reviewer decides on this."""
    with transaction.atomic():
        application = _locked_application(actor, application_id)
        policy.ensure_member(actor, application.producer_id)
        _require_state(application, "submit")
        product = Product.objects.select_related("producer").get(pk=application.product_id)
        if application.renews_id:
            renews = application.renews
            problem = lifecycle.renewal_problem(renews, product.pk, application=application)
            if problem:
                raise ValidationFailed(problem, fields={"renews": [problem]})
        try:
            assessment = assessment_snapshot(product)
        except LookupError as error:
            raise ValidationFailed(str(error)) from None
        application.assessment = assessment
        application.assessment_verdict = assessment["verdict"]
        application.product_snapshot = _product_snapshot(product)
        application.submitted_at = timezone.now()
        _move(
            application,
            actor,
            "application.submitted",
            Status.SUBMITTED,
            data={
                "verdict": assessment["verdict"],
                "rule_set": assessment["rule_set"],
                "rule": assessment["rule"]["scope"],
            },
            fields=["assessment", "assessment_verdict", "product_snapshot", "submitted_at"],
        )
        outbox.emit("application.submitted", application=application)
    return application


def application_withdraw(*, actor, application_id):
    with transaction.atomic():
        application = _locked_application(actor, application_id)
        policy.ensure_member(actor, application.producer_id)
        _require_state(application, "withdraw")
        _move(application, actor, "application.withdrawn", Status.WITHDRAWN)
        outbox.emit("application.withdrawn", application=application)
    return application


def application_start_review(*, actor, application_id):
    with transaction.atomic():
        application = _locked_application(actor, application_id)
        policy.ensure_can_decide(actor, application)
        _require_state(application, "start review")
        application.reviewer = actor
        _move(
            application,
            actor,
            "application.review_started",
            Status.UNDER_REVIEW,
            fields=["reviewer"],
        )
    return application


# What a decision's comment must give when the decision needs one; the pages mark the
# field required and show the same words.
COMMENT_NEEDED = {
    "request changes": gettext_lazy("Say what needs to change."),
    "reject": gettext_lazy("Give the reason for the rejection."),
    "approve": gettext_lazy("The origin assessment fails: approving needs a written reason."),
}


def comment_needed(application, action):
    """Whether `action` on the application needs a written comment: asking for changes
    and rejecting always, approving only against the engine's verdict."""
    if action == "approve":
        return application.assessment_verdict != "PASS"
    return action in COMMENT_NEEDED


def _decision_comment(application, action, comment):
    comment = (comment or "").strip()
    if comment_needed(application, action):
        comment = _required_text(comment, "comment", str(COMMENT_NEEDED[action]))
    return comment


def application_request_changes(*, actor, application_id, comment=""):
    with transaction.atomic():
        application = _locked_application(actor, application_id)
        policy.ensure_can_decide(actor, application)
        _require_state(application, "request changes")
        comment = _decision_comment(application, "request changes", comment)
        application.last_comment = comment
        _move(
            application,
            actor,
            "application.changes_requested",
            Status.CHANGES_REQUESTED,
            comment=comment,
            fields=["last_comment"],
        )
        outbox.emit("application.changes_requested", application=application)
    return application


def application_reject(*, actor, application_id, comment=""):
    with transaction.atomic():
        application = _locked_application(actor, application_id)
        policy.ensure_can_decide(actor, application)
        _require_state(application, "reject")
        comment = _decision_comment(application, "reject", comment)
        against = application.assessment_verdict == "PASS"
        application.last_comment = comment
        application.override_reason = comment if against else ""
        application.decided_at = timezone.now()
        application.decided_by = actor
        _move(
            application,
            actor,
            "application.rejected",
            Status.REJECTED,
            comment=comment,
            data={"against_verdict": against},
            fields=["last_comment", "override_reason", "decided_at", "decided_by"],
        )
        outbox.emit("application.rejected", application=application)
    return application


def application_approve(*, actor, application_id, comment=""):
    """Approve and issue the certificate in the same transaction. Approving an application
    whose snapshotted assessment fails needs a written reason (the comment)."""
    with transaction.atomic():
        application = _locked_application(actor, application_id)
        policy.ensure_can_decide(actor, application)
        _require_state(application, "approve")
        if application.renews_id:
            # Locked, so that two renewals approved at once cannot both follow it.
            renewed = Certificate.objects.select_for_update().get(pk=application.renews_id)
            successor = lifecycle.successor_of(renewed)
            if successor:
                message = _("Certificate %(old)s is renewed already, by %(new)s.") % {
                    "old": renewed.number,
                    "new": successor,
                }
                raise Conflict(message, code="already_renewed")
        comment = _decision_comment(application, "approve", comment)
        against = comment_needed(application, "approve")
        now = timezone.now()
        producer = Producer.objects.select_for_update().get(pk=application.producer_id)
        first_verification = producer.verified_at is None
        if first_verification:
            # The reviewer approving a producer's first application attests its identity.
            producer.verified_at = now
            producer.verified_by = actor
            producer.save(update_fields=["verified_at", "verified_by"])
        certificate = certificate_issue(
            application=application, producer=producer, actor=actor, now=now
        )
        register.reindex_certificate(certificate, producer=producer, now=now)
        application.last_comment = comment
        application.override_reason = comment if against else ""
        application.decided_at = now
        application.decided_by = actor
        _move(
            application,
            actor,
            "application.approved",
            Status.APPROVED,
            comment=comment,
            data={
                "certificate": certificate.number,
                "against_verdict": against,
                "producer_verified": first_verification,
            },
            fields=["last_comment", "override_reason", "decided_at", "decided_by"],
        )
        outbox.emit("application.approved", application=application, certificate=certificate)
        outbox.emit("certificate.issued", certificate=certificate)
    return application


# --- Certificates ------------------------------------------------------------------------


def _allocate_sequence(member_state, year):
    """The next gap-free sequence number for (state, year), from a counter row locked
    until the approval commits."""
    counter = (
        CertificateCounter.objects.select_for_update()
        .filter(member_state=member_state, year=year)
        .first()
    )
    if counter is None:
        try:
            with transaction.atomic():
                CertificateCounter.objects.create(member_state=member_state, year=year)
        except IntegrityError:
            pass  # a concurrent approval created it first; lock it below
        counter = CertificateCounter.objects.select_for_update().get(
            member_state=member_state, year=year
        )
    counter.last_sequence += 1
    counter.save(update_fields=["last_sequence"])
    return counter.last_sequence


def origin_criterion_text(assessment):
    """The criterion the certificate is issued under, in the rule table's notation and in
    English, the table's language: one value for the API, the PDF and the register,
    whatever languages the submitter and the approver used."""
    assessment = in_language(assessment, "en")
    index = assessment.get("passing_alternative")
    if assessment.get("verdict") == "PASS" and index is not None:
        texts = [c["text"] for c in assessment["criteria"] if c["alternative"] == index]
        return " and ".join(texts)
    with translation.override("en"):
        return _("Decision of the issuing authority")


def certificate_issue(*, application, producer, actor, now):
    """Create the certificate record for an application being approved. Called inside
    application_approve's transaction only."""
    state = application.member_state
    authority = state.authority
    today = lifecycle.today_in(state, now)
    valid_from, valid_until = lifecycle.validity_period(
        member_state=state,
        months=authority.certificate_validity_months,
        today=today,
        renews=application.renews,
    )
    sequence = _allocate_sequence(state, today.year)
    certificate = Certificate.objects.create(
        number=format_number(state.code, today.year, sequence),
        member_state=state,
        year=today.year,
        sequence=sequence,
        application=application,
        producer=producer,
        product_id=application.product_id,
        renews=application.renews,
        issued_at=now,
        issued_by=actor,
        valid_from=valid_from,
        valid_until=valid_until,
        product_snapshot=application.product_snapshot,
        producer_snapshot=_producer_snapshot(producer),
        assessment=application.assessment,
        origin_criterion=origin_criterion_text(application.assessment),
    )
    sign_certificate(certificate)
    # The PDF is rendered off the request path once the approval (or renewal) commits.
    transaction.on_commit(lambda: store.queue_render(certificate.pk), robust=True)
    return certificate


def sign_certificate(certificate):
    """Attach the compact JWS of docs/api.md. Signing is local and fast, so it runs
    inside the approval: a certificate never exists without its token. A missing key in
    production raises SigningKeyMissing and rolls the approval back."""
    state = certificate.member_state
    producer = certificate.producer_snapshot
    claims = signing.certificate_claims(
        number=certificate.number,
        country=state.code,
        hs_code=certificate.product_snapshot["hs_code"],
        product_name=certificate.product_snapshot["name"],
        producer_name=producer["legal_name"],
        tax_id=producer["tax_id"],
        is_individual=producer["kind"] == Producer.Kind.INDIVIDUAL,
        issued_at=certificate.issued_at,
        valid_from=certificate.valid_from,
        valid_until=certificate.valid_until,
        time_zone=state.time_zone,
    )
    certificate.token = signing.sign_claims(state.code, claims)
    certificate.key_id = jwt.get_unverified_header(certificate.token)["kid"]
    certificate.save(update_fields=["token", "key_id"])
    return certificate


# Each of a certificate's status changes: the stored statuses it starts from, the one it
# leads to, its audit and outbox event, and whether a reason must be given. The services
# enforce it; the pages ask it (certificate_allows, certificate_needs_reason) to offer only
# what would be accepted.
@dataclass(frozen=True)
class CertificateTransition:
    allowed_from: tuple
    to_status: str
    event: str
    reason_needed: bool


_C = Certificate.Status
CERTIFICATE_TRANSITIONS = {
    "suspend": CertificateTransition((_C.ACTIVE,), _C.SUSPENDED, "certificate.suspended", True),
    "reinstate": CertificateTransition((_C.SUSPENDED,), _C.ACTIVE, "certificate.reinstated", False),
    "revoke": CertificateTransition(
        (_C.ACTIVE, _C.SUSPENDED), _C.REVOKED, "certificate.revoked", True
    ),
}


def certificate_allows(certificate, action):
    """Whether `action` (a key of CERTIFICATE_TRANSITIONS) may start from the certificate's
    stored status."""
    return certificate.status in CERTIFICATE_TRANSITIONS[action].allowed_from


def certificate_needs_reason(action):
    return CERTIFICATE_TRANSITIONS[action].reason_needed


def _certificate_transition(actor, number, action, reason):
    transition = CERTIFICATE_TRANSITIONS[action]
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update()
            .filter(number=str(number).strip().upper())
            .first()
        )
        policy.ensure_visible(policy.certificates_visible_to(actor), certificate)
        policy.ensure_can_manage_certificate(actor, certificate)
        if not certificate_allows(certificate, action):
            raise TransitionNotAllowed(certificate.status, action)
        reason = (reason or "").strip()
        if transition.reason_needed:
            reason = _required_text(reason, "reason", _("Give the reason."))
        from_status = certificate.status
        certificate.status = transition.to_status
        certificate.status_reason = reason
        certificate.status_changed_at = timezone.now()
        certificate.save(update_fields=["status", "status_reason", "status_changed_at"])
        # The producer's row is the lock every write of its register entries takes (update,
        # attest, approve): a rename committing meanwhile cannot leave a stale entry.
        producer = Producer.objects.select_for_update().get(pk=certificate.producer_id)
        register.reindex_certificate(certificate, producer=producer)
        audit.record(
            actor,
            transition.event,
            certificate,
            from_state=from_status,
            to_state=transition.to_status,
            comment=reason,
        )
        outbox.emit(transition.event, certificate=certificate)
        # The state's signed status list names it (or no longer does) once this commits.
        country = certificate.member_state_id
        transaction.on_commit(lambda: status_list.queue_publish(country), robust=True)
    return certificate


def certificate_suspend(*, actor, number, reason=""):
    return _certificate_transition(actor, number, "suspend", reason)


def certificate_reinstate(*, actor, number, reason=""):
    return _certificate_transition(actor, number, "reinstate", reason)


def certificate_revoke(*, actor, number, reason=""):
    return _certificate_transition(actor, number, "revoke", reason)


# --- Documents ---------------------------------------------------------------------------


def _sniff(head):
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def document_add(*, actor, application_id, upload):
    """Attach a supporting document (PDF, PNG or JPEG, judged by its content, at most
    10 MB) to a draft or an application with changes requested."""
    with transaction.atomic():
        application = _locked_application(actor, application_id)
        policy.ensure_member(actor, application.producer_id)
        _require_state(application, "add a document")
        if upload.size > MAX_DOCUMENT_BYTES:
            raise ValidationFailed(
                _("A document may be at most 10 MB."),
                code="too_large",
                fields={"file": [_("A document may be at most 10 MB.")]},
            )
        digest = hashlib.sha256()
        chunks = []
        for chunk in upload.chunks():
            digest.update(chunk)
            chunks.append(chunk)
        content = b"".join(chunks)
        content_type = _sniff(content[:16])
        if content_type not in DOCUMENT_TYPES:
            message = _("Only PDF, PNG and JPEG documents are accepted.")
            raise ValidationFailed(message, fields={"file": [message]})
        document = ApplicationDocument(
            application=application,
            original_name=(upload.name or "document")[:255],
            content_type=content_type,
            size=len(content),
            sha256=digest.hexdigest(),
            uploaded_by=actor,
        )
        document.file.save("upload", ContentFile(content), save=False)
        document.save()
        audit.record(
            actor,
            "application.document_added",
            application,
            data={
                "document": document.pk,
                "sha256": document.sha256,
                "content_type": content_type,
                "size": document.size,
            },
        )
    return document
