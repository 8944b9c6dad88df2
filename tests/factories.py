"""factory_boy factories. Member states, authorities, the HS nomenclature and the rule set
come from data migrations, so factories only look them up."""

import itertools
from decimal import Decimal

import factory

from registry.models import (
    Material,
    MemberState,
    Producer,
    ProducerMembership,
    Product,
    User,
)
from registry.taxids import example_tax_id

PASSWORD = "correct-Horse-battery-9"
_tax_numbers = itertools.count(1)


def state(code):
    return MemberState.objects.get(code=code)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Faker("name")
    role = User.Role.MANUFACTURER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class ReviewerFactory(UserFactory):
    role = User.Role.REVIEWER
    member_state = factory.LazyFunction(lambda: state("UZ"))


class CustomsFactory(UserFactory):
    role = User.Role.CUSTOMS
    member_state = factory.LazyFunction(lambda: state("KZ"))


class SecretariatFactory(UserFactory):
    role = User.Role.SECRETARIAT


class ProducerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Producer

    legal_name = factory.Sequence(lambda n: f"Producer {n} LLC")
    member_state = factory.LazyFunction(lambda: state("UZ"))
    tax_id = factory.LazyAttribute(
        lambda o: example_tax_id(o.member_state.code, next(_tax_numbers))
    )
    address = "1 Amir Temur Ave, Tashkent"
    contact_email = factory.Sequence(lambda n: f"office{n}@producer.example")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProducerMembership

    user = factory.SubFactory(UserFactory)
    producer = factory.SubFactory(ProducerFactory)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    producer = factory.SubFactory(ProducerFactory)
    name = factory.Sequence(lambda n: f"Cotton T-shirt {n}")
    hs_code = "610910"
    ex_works_price = Decimal("10.00")
    currency = "USD"
    process_steps = factory.LazyFunction(lambda: ["cutting", "sewing"])


class MaterialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Material

    product = factory.SubFactory(ProductFactory)
    description = "Combed cotton yarn"
    hs_code = "520522"
    origin_country = "UZ"
    value = Decimal("3.00")
