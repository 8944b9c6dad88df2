"""Producers in the manufacturer portal: the list, registering one (tax id checked per
state, a duplicate explained), its page with the members, editing, inviting; another
producer is not found; every change audited."""

import pytest

from certification.models import AuditEvent
from registry.models import Producer, ProducerMembership
from registry.taxids import example_tax_id
from tests.factories import MembershipFactory, ProducerFactory, ReviewerFactory, UserFactory

pytestmark = pytest.mark.django_db


def text(response):
    return response.content.decode()


@pytest.fixture
def member(client, manufacturer):
    client.force_login(manufacturer)
    return client


def form_data(**changes):
    data = {
        "legal_name": "Samarqand Ipak LLC",
        "trade_name": "Ipak",
        "kind": "company",
        "member_state": "UZ",
        "tax_id": example_tax_id("UZ", 4242),
        "address": "12 Registan St\nSamarkand",
        "contact_email": "office@ipak.example.uz",
    }
    data.update(changes)
    return data


def test_the_form_shows_each_states_tax_id_format(member):
    page = text(member.get("/portal/producers/new/"))
    assert "Uzbekistan: STIR, 9 digits" in page and "Kazakhstan: BIN/IIN, 12 digits" in page
    assert 'aria-describedby="id_tax_id-hint"' in page


def test_registering_a_producer_makes_the_caller_its_member(member, manufacturer):
    response = member.post("/portal/producers/new/", form_data())
    producer = Producer.objects.get(legal_name="Samarqand Ipak LLC")
    assert response["Location"] == f"/portal/producers/{producer.pk}/"
    assert ProducerMembership.objects.filter(user=manufacturer, producer=producer).exists()
    assert AuditEvent.objects.filter(action="producer.registered", target_id=str(producer.pk))
    page = text(member.get(response["Location"]))
    assert "The producer is registered." in page and "12 Registan St<br>Samarkand" in page
    assert manufacturer.email in page and "Not yet attested" in page


def test_a_bad_tax_id_is_a_form_error_and_keeps_the_input(member):
    response = member.post("/portal/producers/new/", form_data(tax_id="12345"))
    assert response.status_code == 400
    page = text(response)
    assert 'href="#id_tax_id"' in page and "9 digits" in page
    assert 'value="Samarqand Ipak LLC"' in page
    assert not Producer.objects.filter(legal_name="Samarqand Ipak LLC").exists()


def test_a_taken_tax_id_explains_how_to_be_invited(member):
    taken = ProducerFactory(member_state_id="UZ")
    response = member.post("/portal/producers/new/", form_data(tax_id=taken.tax_id))
    assert response.status_code == 400
    page = text(response)
    assert "This producer is registered already." in page and "invite you" in page
    assert Producer.objects.filter(tax_id=taken.tax_id).count() == 1


def test_the_list_shows_only_the_callers_producers_in_constant_queries(
    member, manufacturer, django_assert_num_queries
):
    for _ in range(2):
        MembershipFactory(user=manufacturer, producer=ProducerFactory())
    ProducerFactory(legal_name="Somebody Else LLC")
    member.get("/portal/producers/")  # warm the session
    with django_assert_num_queries(3):  # session, user, producers with their states
        page = text(member.get("/portal/producers/"))
    for _ in range(3):
        MembershipFactory(user=manufacturer, producer=ProducerFactory())
    with django_assert_num_queries(3):
        page = text(member.get("/portal/producers/"))
    assert page.count("/portal/producers/") >= 5 and "Somebody Else LLC" not in page


def test_another_producer_is_not_found(member):
    other = ProducerFactory()
    for path in ("", "edit/"):
        assert member.get(f"/portal/producers/{other.pk}/{path}").status_code == 404
    response = member.post(f"/portal/producers/{other.pk}/members/", {"email": "x@example.org"})
    assert response.status_code == 404


def test_editing_keeps_state_and_tax_id_and_is_audited(member, producer):
    tax_id = producer.tax_id
    page = text(member.get(f"/portal/producers/{producer.pk}/edit/"))
    assert 'name="tax_id"' not in page and "cannot be changed" in page
    response = member.post(
        f"/portal/producers/{producer.pk}/edit/",
        {
            "legal_name": "Renamed LLC",
            "trade_name": "",
            "address": producer.address,
            "contact_email": producer.contact_email,
            "tax_id": "999999999",  # ignored: not a field of the edit form
        },
    )
    assert response.status_code == 302
    producer.refresh_from_db()
    assert producer.legal_name == "Renamed LLC" and producer.tax_id == tax_id
    event = AuditEvent.objects.get(action="producer.updated", target_id=str(producer.pk))
    assert event.data == {"fields": ["legal_name"]}


def test_inviting_a_registered_manufacturer_adds_a_member(member, producer, manufacturer):
    colleague = UserFactory(email="colleague@example.uz")
    response = member.post(
        f"/portal/producers/{producer.pk}/members/", {"email": "Colleague@Example.UZ"}, follow=True
    )
    assert "colleague@example.uz is now a member of" in text(response)
    membership = ProducerMembership.objects.get(user=colleague, producer=producer)
    assert membership.invited_by == manufacturer


def test_inviting_an_unknown_email_says_what_to_do(member, producer):
    response = member.post(f"/portal/producers/{producer.pk}/members/", {"email": "new@example.uz"})
    assert response.status_code == 400
    page = text(response)
    assert "ask the person to register first" in page and 'href="#id_email"' in page
    assert ProducerMembership.objects.filter(producer=producer).count() == 1


def test_the_portal_is_for_manufacturers(client):
    client.force_login(ReviewerFactory())
    assert client.get("/portal/producers/").status_code == 403
    client.logout()
    response = client.get("/portal/producers/")
    assert response["Location"] == "/account/login/?next=/portal/producers/"
