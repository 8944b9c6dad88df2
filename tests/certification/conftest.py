from decimal import Decimal

import pytest

from certification.models import Application
from certification.workflow import services
from tests.factories import (
    MaterialFactory,
    MembershipFactory,
    ProducerFactory,
    ProductFactory,
    ReviewerFactory,
    UserFactory,
    state,
)

S = Application.Status


class Flow:
    """A producer in a member state with one member, that state's reviewer and a product
    whose assessment passes (cotton T-shirt from Uzbek yarn)."""

    def __init__(self, code="UZ"):
        self.state = state(code)
        self.member = UserFactory()
        self.producer = ProducerFactory(member_state=self.state)
        MembershipFactory(user=self.member, producer=self.producer)
        self.reviewer = ReviewerFactory(member_state=self.state)
        self.product = self.make_product()

    def make_product(self, *, passing=True):
        product = ProductFactory(producer=self.producer, ex_works_price=Decimal("10.00"))
        if passing:
            MaterialFactory(
                product=product,
                description="Combed cotton yarn",
                hs_code="520522",
                origin_country="UZ",
                value=Decimal("4.00"),
            )
        else:
            MaterialFactory(
                product=product,
                description="Knitted polyester fabric",
                hs_code="600632",
                origin_country="CN",
                value=Decimal("6.00"),
            )
        return product

    def application(self, status=S.DRAFT, product=None, renews=None):
        app = services.application_create(
            actor=self.member,
            product_id=(product or self.product).pk,
            renews_number=renews.number if renews else None,
        )
        return self.advance(app, status)

    def advance(self, app, status):
        steps = {
            S.DRAFT: [],
            S.SUBMITTED: ["submit"],
            S.UNDER_REVIEW: ["submit", "start"],
            S.CHANGES_REQUESTED: ["submit", "start", "changes"],
            S.APPROVED: ["submit", "start", "approve"],
            S.REJECTED: ["submit", "start", "reject"],
            S.WITHDRAWN: ["withdraw"],
        }[status]
        for step in steps:
            app = self.do(step, app)
        app.refresh_from_db()
        return app

    def do(self, step, app, actor=None, **kwargs):
        calls = {
            "submit": (services.application_submit, self.member),
            "withdraw": (services.application_withdraw, self.member),
            "start": (services.application_start_review, self.reviewer),
            "changes": (services.application_request_changes, self.reviewer),
            "approve": (services.application_approve, self.reviewer),
            "reject": (services.application_reject, self.reviewer),
        }
        function, default_actor = calls[step]
        if step in ("changes", "reject"):
            kwargs.setdefault("comment", "Please attach the yarn invoice.")
        return function(actor=actor or default_actor, application_id=app.pk, **kwargs)


@pytest.fixture
def flow(db):
    return Flow("UZ")


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (dispatch, status lists, mail) as a real commit would."""

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run
