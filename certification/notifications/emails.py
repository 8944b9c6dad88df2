"""Emails about outbox events, rendered from templates/emails/ in the recipient's
language: `<event>_subject.txt`, `<event>.txt` and `<event>.html` for each event, with the
dots of the event's name as underscores."""

import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from registry.models import User


def language_for(user):
    """The account's language when the registry speaks it, else English."""
    codes = {code for code, _name in settings.LANGUAGES}
    return user.language if user.language in codes else settings.LANGUAGE_CODE


def template_base(event_name):
    return "emails/" + event_name.replace(".", "_")


def _date(value):
    return datetime.date.fromisoformat(value) if value else None


def context_for(event, user):
    payload = event.payload
    base = settings.PUBLIC_BASE_URL
    context = {
        "event": event.event,
        "recipient_name": user.full_name or user.email,
        "base_url": base,
    }
    # Each person is sent to the page of the thing in their own part of the site:
    # manufacturers to the portal, reviewers to the workspace.
    in_portal = user.role == User.Role.MANUFACTURER
    application = payload.get("application")
    if application:
        context["application"] = application
        page = "portal:application" if in_portal else "workspace:application"
        context["application_url"] = base + reverse(page, args=[application["id"]])
    certificate = payload.get("certificate")
    if certificate:
        context["certificate"] = {
            **certificate,
            "valid_from": _date(certificate.get("valid_from")),
            "valid_until": _date(certificate.get("valid_until")),
        }
        context["verify_url"] = f"{base}/verify/{certificate['number']}/"
        if in_portal:
            context["certificate_url"] = base + reverse(
                "portal:certificate", args=[certificate["number"]]
            )
    reminder = payload.get("reminder")
    if reminder:
        context["days_left"] = reminder["days_left"]
    return context


def build(event, user, *, delivery_id):
    """The message for one delivery: plain text with an HTML alternative."""
    base = template_base(event.event)
    context = context_for(event, user)
    language = language_for(user)
    with translation.override(language):
        context["language"] = language
        subject = " ".join(render_to_string(base + "_subject.txt", context).split())
        context["subject"] = subject
        text = render_to_string(base + ".txt", context)
        html = render_to_string(base + ".html", context)
    domain = urlsplit(settings.PUBLIC_BASE_URL).hostname or "localhost"
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={
            # The same for every try: a resend after a worker died mid-send can be
            # recognised as the same message.
            "Message-ID": f"<delivery-{delivery_id}@{domain}>",
            "Auto-Submitted": "auto-generated",
            "X-MCA-Event": event.event,
            "X-MCA-Event-Id": str(event.pk),
        },
    )
    message.attach_alternative(html, "text/html")
    return message
