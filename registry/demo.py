"""Demo data for a newcomer: accounts for every role in every state, producers with valid
tax ids and products whose bills of materials qualify or fail for reasons worth seeing.
Used by `manage.py seed_demo`; idempotent (everything is looked up by a natural key)."""

from decimal import Decimal

from django.db import transaction

from registry.models import (
    AuthenticatorDevice,
    Material,
    MemberState,
    Producer,
    ProducerMembership,
    Product,
    User,
)
from registry.taxids import example_tax_id

DEMO_PASSWORD = "demo-Registry-2026"
DEMO_DOMAIN = "demo.mca.example"
# The demo officials' authenticator key, printed by seed_demo for anyone to use: only ever
# enrolled on the embedded default (DEBUG), never where the registry is for real.
DEMO_TOTP_KEY = b"made-in-central-asia"
DEMO_TOTP_KEY_BASE32 = "NVQWIZJNNFXC2Y3FNZ2HEYLMFVQXG2LB"

# (state, legal name, trade name, kind, address, products)
# product: (name, hs, price, currency, steps, materials[(description, hs, origin, value)])
PRODUCERS = [
    (
        "UZ",
        "Toshkent Textile LLC",
        "Toshtex",
        "company",
        "12 Bunyodkor Ave, Tashkent",
        [
            (
                "Cotton T-shirt, knitted",
                "610910",
                "8.00",
                "USD",
                ["knitting", "cutting", "sewing"],
                [
                    ("Combed cotton yarn", "520522", "UZ", "3.10"),
                    ("Reactive dye", "320416", "DE", "0.40"),
                ],
            ),
            (
                "Polyester T-shirt",
                "610910",
                "5.00",
                "USD",
                ["cutting", "sewing"],
                [
                    ("Knitted polyester fabric", "600632", "CN", "3.00"),
                    ("Sewing thread", "520512", "UZ", "0.20"),
                ],
            ),
            (
                "Cotton bed linen set",
                "630231",
                "24.00",
                "USD",
                ["weaving", "cutting", "sewing"],
                [
                    ("Cotton yarn, carded", "520512", "UZ", "7.50"),
                    ("Buttons of plastic", "960621", "CN", "0.30"),
                ],
            ),
            (
                "Cotton socks",
                "611595",
                "1.80",
                "USD",
                ["knitting", "dyeing"],
                [
                    ("Combed cotton yarn", "520522", "UZ", "0.60"),
                    ("Textured polyamide yarn", "540233", "TR", "0.15"),
                ],
            ),
            (
                "Terry towel",
                "630260",
                "4.50",
                "USD",
                ["weaving", "cutting", "sewing"],
                [
                    ("Cotton yarn, carded", "520512", "UZ", "1.90"),
                ],
            ),
            (
                "Women's cotton blouse",
                "620630",
                "11.00",
                "USD",
                ["cutting", "sewing"],
                [
                    ("Cotton poplin, dyed", "520832", "UZ", "3.20"),
                    ("Sewing thread", "520512", "UZ", "0.10"),
                ],
            ),
            (
                "Men's cotton shirt",
                "620520",
                "12.00",
                "USD",
                ["cutting", "sewing"],
                [
                    ("Cotton shirting fabric", "520852", "CN", "5.00"),
                    ("Sewing thread", "520512", "UZ", "0.10"),
                ],
            ),
            (
                "Cotton hoodie",
                "611020",
                "14.00",
                "USD",
                ["knitting", "cutting", "sewing"],
                [
                    ("Combed cotton yarn", "520522", "UZ", "4.80"),
                    ("Zip fastener", "960711", "CN", "0.60"),
                ],
            ),
        ],
    ),
    (
        "UZ",
        "Farg'ona Quritilgan Mevalar",
        "",
        "individual",
        "Fergana, Margilan str. 4",
        [
            (
                "Sun-dried raisins",
                "080620",
                "2.40",
                "USD",
                ["drying", "sorting", "packing"],
                [
                    ("Fresh grapes", "080610", "UZ", "1.30"),
                ],
            ),
        ],
    ),
    (
        "KZ",
        "Balkhash Copper JSC",
        "",
        "company",
        "Balkhash, Karaganda region",
        [
            (
                "Refined copper wire 8 mm",
                "740811",
                "9500.00",
                "USD",
                ["drawing", "annealing"],
                [
                    ("Copper cathodes", "740311", "KZ", "8200.00"),
                ],
            ),
        ],
    ),
    (
        "KZ",
        "Shymkent Cement LLP",
        "",
        "company",
        "Shymkent, Industrial zone 3",
        [
            (
                "Portland cement CEM I 42.5",
                "252329",
                "55.00",
                "USD",
                ["grinding", "mixing"],
                [
                    ("Cement clinker", "252310", "KZ", "30.00"),
                    ("Gypsum additive", "252010", "IR", "4.00"),
                ],
            ),
        ],
    ),
    (
        "KG",
        "Issyk-Kul Carpets",
        "Ala-Kiyiz",
        "company",
        "Karakol, Lenin st. 88",
        [
            (
                "Hand-knotted wool carpet",
                "570110",
                "420.00",
                "USD",
                ["dyeing", "knotting"],
                [
                    ("Combed wool yarn", "510710", "KG", "120.00"),
                    ("Cotton warp yarn", "520512", "TR", "30.00"),
                ],
            ),
        ],
    ),
    (
        "TJ",
        "Sughd Dried Fruit",
        "",
        "company",
        "Khujand, Rudaki 15",
        [
            (
                "Dried apricots",
                "081310",
                "3.50",
                "USD",
                ["washing", "drying", "packing"],
                [
                    ("Fresh apricots", "080910", "TJ", "2.10"),
                ],
            ),
            (
                "Repacked walnuts",
                "080232",
                "6.00",
                "USD",
                ["sorting", "repacking"],
                [
                    ("Shelled walnuts", "080232", "CN", "4.50"),
                ],
            ),
        ],
    ),
    (
        "TM",
        "Mary Cotton Yarn",
        "",
        "company",
        "Mary, Magtymguly st. 2",
        [
            (
                "Cotton yarn Ne 30",
                "520512",
                "2.80",
                "USD",
                ["ginning", "carding", "spinning"],
                [
                    ("Raw cotton", "520100", "TM", "1.50"),
                ],
            ),
        ],
    ),
    (
        "AZ",
        "Guba Juice OJSC",
        "",
        "company",
        "Guba, Heydar Aliyev ave. 7",
        [
            (
                "Cloudy apple juice",
                "200971",
                "1.20",
                "USD",
                ["pressing", "pasteurising", "bottling"],
                [
                    ("Fresh apples", "080810", "AZ", "0.40"),
                    ("Cane sugar", "170199", "BR", "0.42"),
                ],
            ),
            (
                "Pomegranate juice, not from concentrate",
                "200989",
                "2.60",
                "USD",
                ["pressing", "filtering", "pasteurising", "bottling"],
                [
                    ("Fresh pomegranates", "081090", "AZ", "1.10"),
                    ("Glass bottles", "701090", "TR", "0.35"),
                ],
            ),
        ],
    ),
]


def _account(email, role, *, full_name, state=None, staff=False):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email,
            password=DEMO_PASSWORD,
            full_name=full_name,
            role=role,
            member_state=state,
            is_staff=staff,
            is_superuser=staff,
        )
    return user


def _enrol_demo_authenticator(user):
    """The demo key as the account's authenticator app, unless it has one."""
    if not AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists():
        device = AuthenticatorDevice(user=user, name="Demo authenticator", confirmed=True)
        device.key = DEMO_TOTP_KEY
        device.save()


@transaction.atomic
def seed_demo(*, demo_second_factor=False):
    """Create the demo accounts, producers and products; return [(role, email, detail)].
    With `demo_second_factor` (the embedded default only) the reviewers and the
    secretariat get DEMO_TOTP_KEY as their authenticator app."""
    logins = []
    states = {s.code: s for s in MemberState.objects.all()}
    user = _account(
        f"secretariat@{DEMO_DOMAIN}",
        User.Role.SECRETARIAT,
        full_name="Regional Secretariat",
        staff=True,
    )
    logins.append(("secretariat", user.email, "admin at /admin/"))
    officials = [user]
    for code, state in states.items():
        cc = code.lower()
        user = _account(
            f"reviewer-{cc}@{DEMO_DOMAIN}",
            User.Role.REVIEWER,
            full_name=f"Reviewer {code}",
            state=state,
        )
        logins.append(("reviewer", user.email, state.name))
        officials.append(user)
        user = _account(
            f"customs-{cc}@{DEMO_DOMAIN}",
            User.Role.CUSTOMS,
            full_name=f"Customs officer {code}",
            state=state,
        )
        logins.append(("customs", user.email, state.name))
    if demo_second_factor:
        for user in officials:
            _enrol_demo_authenticator(user)

    for index, (code, legal, trade, kind, address, products) in enumerate(PRODUCERS):
        state = states[code]
        email = f"maker{index + 1}-{code.lower()}@{DEMO_DOMAIN}"
        owner = _account(email, User.Role.MANUFACTURER, full_name=f"Manager of {legal}")
        producer, _created = Producer.objects.get_or_create(
            member_state=state,
            legal_name=legal,
            defaults=dict(
                trade_name=trade,
                kind=kind,
                tax_id=example_tax_id(code, 100 + index),
                address=address,
                contact_email=email,
                created_by=owner,
            ),
        )
        ProducerMembership.objects.get_or_create(user=owner, producer=producer)
        logins.append(("manufacturer", email, legal))
        for name, hs, price, currency, steps, materials in products:
            product, created = Product.objects.get_or_create(
                producer=producer,
                name=name,
                defaults=dict(
                    hs_code=hs,
                    ex_works_price=Decimal(price),
                    currency=currency,
                    process_steps=steps,
                    description=name,
                ),
            )
            if created:
                for position, (description, m_hs, origin_country, value) in enumerate(materials):
                    Material.objects.create(
                        product=product,
                        position=position,
                        description=description,
                        hs_code=m_hs,
                        origin_country=origin_country,
                        value=Decimal(value),
                    )
    return logins
