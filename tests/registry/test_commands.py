import pytest
from django.core.management import CommandError, call_command

from registry.models import Material, Producer, Product, User
from registry.selectors import product_assessment

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_logins(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (
        User.objects.count(),
        Producer.objects.count(),
        Product.objects.count(),
        Material.objects.count(),
    )
    call_command("seed_demo")
    assert counts == (
        User.objects.count(),
        Producer.objects.count(),
        Product.objects.count(),
        Material.objects.count(),
    )
    assert "reviewer-uz@demo.mca.example" in first
    assert "customs-az@demo.mca.example" in first
    assert "secretariat@demo.mca.example" in first
    for code in ("uz", "kz", "kg", "tj", "tm", "az"):
        assert User.objects.get(email=f"reviewer-{code}@demo.mca.example").role == "reviewer"


def test_demo_data_is_valid_and_has_qualifying_and_failing_products():
    call_command("seed_demo", stdout=None)
    for producer in Producer.objects.all():
        producer.full_clean()
        assert producer.members.exists()
    verdicts = {}
    for product in Product.objects.all():
        product.full_clean()
        for material in product.materials.all():
            material.full_clean()
        verdicts[product.name] = product_assessment(product)["verdict"]
    assert verdicts["Cotton T-shirt, knitted"] == "PASS"
    assert verdicts["Polyester T-shirt"] == "FAIL"
    assert verdicts["Repacked walnuts"] == "FAIL"
    assert set(verdicts.values()) == {"PASS", "FAIL"}


def test_create_account_makes_a_reviewer_of_a_state(capsys):
    call_command(
        "create_account",
        email="Rev@Example.org",
        password="long-Enough-pass-1",
        role="reviewer",
        country="kz",
    )
    user = User.objects.get(email="rev@example.org")
    assert user.role == "reviewer" and user.member_state_id == "KZ"
    assert user.check_password("long-Enough-pass-1")
    # The official sets up an authenticator app at the first sign-in.
    assert "set up an authenticator app" in capsys.readouterr().out


def test_create_account_refuses_reviewer_without_state_and_unknown_state():
    with pytest.raises(CommandError, match="member_state"):
        call_command(
            "create_account", email="a@example.org", password="long-Enough-pass-1", role="reviewer"
        )
    with pytest.raises(CommandError, match="--country"):
        call_command(
            "create_account",
            email="b@example.org",
            password="long-Enough-pass-1",
            role="customs",
            country="RU",
        )
    assert not User.objects.filter(email__in=["a@example.org", "b@example.org"]).exists()


def test_create_account_refuses_weak_password_and_duplicates():
    with pytest.raises(CommandError, match="password"):
        call_command("create_account", email="c@example.org", password="123", role="secretariat")
    call_command(
        "create_account", email="d@example.org", password="long-Enough-pass-1", role="secretariat"
    )
    assert User.objects.get(email="d@example.org").is_staff
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_account",
            email="D@example.org",
            password="long-Enough-pass-1",
            role="secretariat",
        )
