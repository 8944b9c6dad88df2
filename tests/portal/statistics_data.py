"""Many certificates at once for the register's statistics (tests/portal/test_statistics.py,
tests/browser/test_statistics.py): approved applications and their certificates written
in two statements, spread over time, HS sections and standings as a real register would be.
"""

import datetime

from django.utils import timezone

from certification.models import Application, Certificate

DAY = datetime.timedelta(days=1)
# Subheadings of eight HS sections, textiles the most frequent.
HS_CODES = (
    "610910",
    "080620",
    "620342",
    "170490",
    "570110",
    "392690",
    "520522",
    "730890",
    "200799",
    "847130",
    "090230",
    "940360",
)


def bulk_certificates(flow, count, *, lead_days=3, now=None):
    """`count` certificates of the flow's producer (verified by one approval through the
    services first): issued over the last 30 months and valid 24 months from then, every
    11th suspended and every 13th revoked some weeks after issue, their applications
    approved `lead_days` to `lead_days` + 6 days after submission."""
    now = now or timezone.now()
    template = flow.application(
        Application.Status.APPROVED, product=flow.make_product()
    ).certificate
    issued = [now - (index * 37 % 900) * DAY for index in range(count)]
    applications = Application.objects.bulk_create(
        Application(
            product=flow.product,
            producer=flow.producer,
            member_state=flow.state,
            created_by=flow.member,
            status=Application.Status.APPROVED,
            submitted_at=issued[index] - (lead_days + index % 7) * DAY,
            decided_at=issued[index],
        )
        for index in range(count)
    )

    def status(index):
        if index % 13 == 12:
            return Certificate.Status.REVOKED
        if index % 11 == 10:
            return Certificate.Status.SUSPENDED
        return Certificate.Status.ACTIVE

    Certificate.objects.bulk_create(
        Certificate(
            number=f"{flow.state.code}-TEST-{application.pk}",
            member_state=flow.state,
            year=2000,  # clear of the real numbers' (state, year, sequence)
            sequence=application.pk,
            application=application,
            producer=flow.producer,
            product=flow.product,
            status=status(index),
            status_changed_at=(
                None
                if status(index) == Certificate.Status.ACTIVE
                else min(now, issued[index] + (20 + index % 40) * DAY)
            ),
            issued_at=issued[index],
            issued_by=flow.reviewer,
            valid_from=issued[index].date(),
            valid_until=issued[index].date() + 730 * DAY,
            product_snapshot={
                **template.product_snapshot,
                "hs_code": HS_CODES[index % len(HS_CODES)],
            },
            producer_snapshot=template.producer_snapshot,
            assessment=template.assessment,
            origin_criterion=template.origin_criterion,
        )
        for index, application in enumerate(applications)
    )
