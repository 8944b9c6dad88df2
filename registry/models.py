"""The parties and the goods: member states, authorities, accounts, producers, products,
their bills of materials, the HS nomenclature and the origin rules (docs/architecture.md,
docs/origin-rules.md)."""

from decimal import Decimal

import pycountry
from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registry import origin
from registry.credentials import ApiToken, AuthenticatorDevice, RecoveryCode  # noqa: F401
from registry.names import state_name
from registry.taxids import validate_tax_id

MONEY = {"max_digits": 14, "decimal_places": 2}
POSITIVE = MinValueValidator(Decimal("0.01"), message=_("Must be greater than zero."))


class MemberState(models.Model):
    """One of the six states of the brand (ISO 3166-1 alpha-2 code as key)."""

    code = models.CharField(max_length=2, primary_key=True)
    name = models.CharField(max_length=64)
    language = models.CharField(
        max_length=8, help_text=_("Language code of the state's language, as in LANGUAGES.")
    )
    time_zone = models.CharField(max_length=64, help_text=_("IANA zone, e.g. Asia/Tashkent."))

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def local_name(self):
        """The state's name in the active language (pycountry's ISO 3166 translations)."""
        return state_name(self.code, self.name)


class Authority(models.Model):
    """The national authority of a member state: reviews applications, signs certificates."""

    member_state = models.OneToOneField(
        MemberState, on_delete=models.PROTECT, related_name="authority"
    )
    name = models.CharField(max_length=200)
    names = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            'The name in the registry\'s other languages, by language code: {"ru": "...", '
            '"uz": "...", ...}. Where a language is missing the English name is shown.'
        ),
    )
    certificate_validity_months = models.PositiveSmallIntegerField(
        default=24, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name_plural = "authorities"
        ordering = ["member_state"]

    def __str__(self):
        return self.name

    @property
    def local_name(self):
        """The authority's name in the active language, else the English one."""
        language = (translation.get_language() or "en").split("-")[0]
        return (self.names or {}).get(language) or self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("An account needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        extra.setdefault("role", User.Role.SECRETARIAT)
        return self._create(email, password, **extra)


# The longest an API token may last: the secretariat may allow it to customs officers.
API_TOKEN_MAX_DAYS = 365


class User(AbstractUser):
    """An account, logged in by email. Reviewers and customs officers belong to a member
    state; manufacturers act for the producers they are members of."""

    class Role(models.TextChoices):
        MANUFACTURER = "manufacturer", _("Manufacturer")
        REVIEWER = "reviewer", _("Reviewer")
        CUSTOMS = "customs", _("Customs officer")
        SECRETARIAT = "secretariat", _("Secretariat")

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MANUFACTURER)
    member_state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, null=True, blank=True, related_name="officials"
    )
    language = models.CharField(
        max_length=8, default="en", help_text=_("Language of the emails this account receives.")
    )
    producers = models.ManyToManyField(
        "Producer",
        through="ProducerMembership",
        through_fields=("user", "producer"),
        related_name="members",
        blank=True,
    )
    api_token_days = models.PositiveSmallIntegerField(
        _("API token lifetime (days)"),
        null=True,
        blank=True,
        help_text=_(
            "The longest a new API token of this account may last. Empty: the registry's "
            "default (API_TOKEN_DAYS, 90 days). Only customs officers may be given more, "
            "up to 365 days."
        ),
    )
    # Changed by "sign out everywhere" and by setting up an authenticator app: part of the
    # hash every session of the account carries, so all of them end at once
    # (_get_session_auth_hash).
    session_salt = models.CharField(max_length=32, blank=True, default="", editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []
    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name or self.email

    @property
    def needs_second_factor(self):
        """Reviewers and the secretariat act only after a second factor."""
        return self.role in SECOND_FACTOR_ROLES

    @property
    def token_days(self):
        """The longest a new API token of this account may last, in days."""
        return self.api_token_days or settings.API_TOKEN_DAYS

    def _get_session_auth_hash(self, secret=None):
        # Django's hash of the password, which a session must match to stay signed in,
        # with the account's session salt once "sign out everywhere" has set one.
        if not self.session_salt:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "registry.User.session_salt",
            f"{self.password}:{self.session_salt}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def clean(self):
        super().clean()
        self.email = (self.email or "").lower()
        if self.api_token_days is not None:
            customs = self.role == self.Role.CUSTOMS
            longest = API_TOKEN_MAX_DAYS if customs else settings.API_TOKEN_DAYS
            if not 1 <= self.api_token_days <= longest:
                raise ValidationError(
                    {
                        "api_token_days": gettext(
                            "From 1 to %(days)d days for this account (only customs officers "
                            "may have tokens of up to %(most)d days)."
                        )
                        % {"days": longest, "most": API_TOKEN_MAX_DAYS}
                    }
                )
        needs_state = self.role in (self.Role.REVIEWER, self.Role.CUSTOMS)
        if needs_state and not self.member_state_id:
            raise ValidationError(
                {
                    "member_state": gettext(
                        "Reviewers and customs officers belong to a member state."
                    )
                }
            )
        if self.role in (self.Role.MANUFACTURER, self.Role.SECRETARIAT) and self.member_state_id:
            raise ValidationError(
                {
                    "member_state": gettext(
                        "Only reviewers and customs officers have a member state."
                    )
                }
            )


# The roles that act for a state or for the whole region: they sign in with a second factor.
SECOND_FACTOR_ROLES = (User.Role.REVIEWER, User.Role.SECRETARIAT)


class HSCode(models.Model):
    """The HS 2022 nomenclature: chapters (2 digits), headings (4), subheadings (6)."""

    class Level(models.IntegerChoices):
        CHAPTER = 2, _("chapter")
        HEADING = 4, _("heading")
        SUBHEADING = 6, _("subheading")

    code = models.CharField(max_length=6, primary_key=True)
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    description = models.TextField()
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    section = models.CharField(max_length=5, help_text=_("HS section, Roman numeral."))

    class Meta:
        verbose_name = "HS code"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.description[:60]}"


def validate_hs_subheading(value):
    """An HS code on a product or material: six digits that exist in the nomenclature."""
    if not (len(value) == 6 and value.isdigit()):
        raise ValidationError(
            gettext("An HS code has 6 digits (e.g. 610910); got %(value)s."),
            code="invalid_hs_code",
            params={"value": value},
        )
    if not HSCode.objects.filter(code=value, level=HSCode.Level.SUBHEADING).exists():
        raise ValidationError(
            gettext("HS code %(value)s is not in the HS 2022 nomenclature."),
            code="unknown_hs_code",
            params={"value": value},
        )


def validate_country(value):
    if value and pycountry.countries.get(alpha_2=value.upper()) is None:
        raise ValidationError(
            gettext("%(value)s is not an ISO 3166-1 alpha-2 country code."),
            code="invalid_country",
            params={"value": value},
        )


class Producer(models.Model):
    """A company or individual entrepreneur registered in a member state."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        INDIVIDUAL = "individual", _("Individual entrepreneur")

    legal_name = models.CharField(max_length=255)
    trade_name = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.COMPANY)
    member_state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="producers"
    )
    tax_id = models.CharField(max_length=20)
    address = models.TextField()
    contact_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Identity is attested by the reviewer who approves the producer's first application
    # (docs/architecture.md); only verified producers appear in the public registry.
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["legal_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["member_state", "tax_id"],
                name="producer_unique_tax_id_per_state",
                violation_error_message=_(
                    "A producer with this tax id is already registered in "
                    "this member state; ask its members to invite you."
                ),
            )
        ]

    def __str__(self):
        return self.legal_name

    @property
    def is_individual(self):
        return self.kind == self.Kind.INDIVIDUAL

    def clean(self):
        super().clean()
        if self.member_state_id and self.tax_id:
            try:
                self.tax_id = validate_tax_id(self.member_state_id, self.tax_id)
            except ValidationError as error:
                raise ValidationError({"tax_id": error.messages}) from None

    def validate_constraints(self, exclude=None):
        # The duplicate-tax-id refusal belongs to the tax_id field, so that forms and the
        # API (409 with fields.tax_id) can point at it.
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict({})
            if "__all__" in errors:
                errors.setdefault("tax_id", []).extend(errors.pop("__all__"))
            raise ValidationError(errors) from None


class ProducerMembership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    producer = models.ForeignKey(Producer, on_delete=models.CASCADE, related_name="memberships")
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "producer"], name="membership_unique")
        ]

    def __str__(self):
        return f"{self.user} @ {self.producer}"


class ProductionSite(models.Model):
    producer = models.ForeignKey(Producer, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    address = models.TextField()
    member_state = models.ForeignKey(MemberState, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["producer", "name"]

    def __str__(self):
        return f"{self.name} ({self.producer})"


class Currency(models.TextChoices):
    USD = "USD", "USD"
    EUR = "EUR", "EUR"
    UZS = "UZS", "UZS"
    KZT = "KZT", "KZT"
    KGS = "KGS", "KGS"
    TJS = "TJS", "TJS"
    TMT = "TMT", "TMT"
    AZN = "AZN", "AZN"
    RUB = "RUB", "RUB"
    CNY = "CNY", "CNY"


step_code_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{1,49}$",
    _("A process step is a short code of lower-case letters, digits and underscores."),
)


class Product(models.Model):
    producer = models.ForeignKey(Producer, on_delete=models.PROTECT, related_name="products")
    site = models.ForeignKey(
        ProductionSite, on_delete=models.SET_NULL, null=True, blank=True, related_name="products"
    )
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    hs_code = models.CharField(max_length=6, validators=[validate_hs_subheading])
    ex_works_price = models.DecimalField(**MONEY, validators=[POSITIVE])
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.USD)
    process_steps = models.JSONField(
        default=list, blank=True, help_text=_("Short codes, e.g. spinning, weaving, sewing.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["producer", "name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        steps = self.process_steps
        if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
            raise ValidationError({"process_steps": gettext("Process steps are a list of codes.")})
        self.process_steps = [origin.normalise_step(s) for s in steps if s.strip()]
        for step in self.process_steps:
            try:
                step_code_validator(step)
            except ValidationError as error:
                raise ValidationError({"process_steps": error.messages}) from None
        if self.site_id and self.producer_id and self.site.producer_id != self.producer_id:
            raise ValidationError({"site": gettext("The site belongs to another producer.")})


class Material(models.Model):
    """One input of a product's bill of materials."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="materials")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=255)
    hs_code = models.CharField(max_length=6, validators=[validate_hs_subheading])
    origin_country = models.CharField(
        max_length=2,
        null=True,
        blank=True,
        validators=[validate_country],
        help_text=_("ISO 3166-1 alpha-2; empty when the origin is unknown (non-originating)."),
    )
    value = models.DecimalField(**MONEY, validators=[POSITIVE])

    class Meta:
        ordering = ["product", "position", "id"]

    def __str__(self):
        return self.description

    def clean(self):
        super().clean()
        if self.origin_country:
            self.origin_country = self.origin_country.upper()
        else:
            self.origin_country = None
        # The product may be unsaved (validated together with its materials).
        has_product = self.product_id or Material.product.is_cached(self)
        price = self.product.ex_works_price if has_product else None
        if price is not None and self.value is not None and self.value > price:
            raise ValidationError(
                {
                    "value": gettext(
                        "A material cannot be worth more than the product's ex-works price "
                        "(%(price)s)."
                    )
                    % {"price": price}
                }
            )


# --- Origin rules (docs/origin-rules.md) -------------------------------------------------


class RuleSet(models.Model):
    code = models.CharField(max_length=32)
    version = models.PositiveIntegerField(default=1)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    tolerance_pct = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("10"), validators=[MinValueValidator(0)]
    )
    legal_reference = models.CharField(max_length=255, blank=True)
    insufficient_operations = models.JSONField(
        default=list,
        help_text=_("Process step codes that alone never confer origin."),
    )

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="ruleset_unique_version")
        ]

    def __str__(self):
        return f"{self.code} v{self.version}"

    def clean(self):
        super().clean()
        if self.valid_until and self.valid_from and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": gettext("Ends before it starts.")})
        ops = self.insufficient_operations
        if not isinstance(ops, list) or not all(isinstance(op, str) for op in ops):
            raise ValidationError(
                {"insufficient_operations": gettext("A list of step codes is expected.")}
            )
        self.insufficient_operations = sorted({origin.normalise_step(op) for op in ops})


scope_validator = RegexValidator(
    r"^(\d{2}|\d{4}|\d{6})?$",
    _("Scope is empty (the default rule) or an HS chapter, heading or subheading."),
)


class Rule(models.Model):
    rule_set = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    scope = models.CharField(max_length=6, blank=True, validators=[scope_validator])
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["rule_set", "scope"]
        constraints = [
            models.UniqueConstraint(fields=["rule_set", "scope"], name="rule_unique_scope")
        ]

    def __str__(self):
        return f"{self.rule_set}: {self.scope or 'default'}"

    def as_spec(self, criteria=None):
        """The engine's view of this rule; `criteria` may be passed prefetched."""
        groups = {}
        for criterion in criteria if criteria is not None else self.criteria.all():
            groups.setdefault(criterion.alternative, []).append(criterion.as_spec())
        return origin.RuleSpec(
            scope=self.scope,
            alternatives=tuple(tuple(groups[key]) for key in sorted(groups)),
            id=self.pk,
            description=self.description,
        )


def parse_prefixes(text):
    """'5111-5113, 60' -> ('5111', '5112', '5113', '60'): ranges expand within one length."""
    prefixes = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            low, _sep, high = (p.strip() for p in part.partition("-"))
            if not (low.isdigit() and high.isdigit() and len(low) == len(high) and low <= high):
                raise ValueError(part)
            prefixes.extend(str(n).zfill(len(low)) for n in range(int(low), int(high) + 1))
        else:
            prefixes.append(part)
    return tuple(prefixes)


class Criterion(models.Model):
    class Type(models.TextChoices):
        WO = "WO", _("Wholly obtained")
        CC = "CC", _("Change of chapter")
        CTH = "CTH", _("Change of tariff heading")
        CTSH = "CTSH", _("Change of tariff subheading")
        MAXNOM = "MAXNOM", _("Maximum non-originating content")
        RVC = "RVC", _("Regional value content")
        MATERIALS_WO = "MATERIALS_WO", _("Materials of given chapters wholly obtained")
        MAX_MATERIAL_SHARE = "MAX_MATERIAL_SHARE", _("Maximum share of given materials")

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="criteria")
    # Criteria with the same alternative number are AND-ed; alternatives are OR-ed.
    alternative = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    position = models.PositiveSmallIntegerField(default=0)
    type = models.CharField(max_length=20, choices=Type.choices)
    pct = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    except_prefixes = models.CharField(
        max_length=255, blank=True, help_text=_("HS prefixes or ranges, e.g. 5204-5207, 60")
    )
    chapters = models.CharField(max_length=255, blank=True, help_text=_("e.g. 08"))
    prefixes = models.CharField(max_length=255, blank=True, help_text=_("e.g. 17"))

    class Meta:
        verbose_name_plural = "criteria"
        ordering = ["rule", "alternative", "position", "id"]

    def __str__(self):
        return self.type

    def as_spec(self):
        return origin.CriterionSpec(
            type=self.type,
            pct=self.pct,
            except_prefixes=parse_prefixes(self.except_prefixes),
            chapters=parse_prefixes(self.chapters),
            prefixes=parse_prefixes(self.prefixes),
        )

    def clean(self):
        super().clean()
        for field in ("except_prefixes", "chapters", "prefixes"):
            try:
                parse_prefixes(getattr(self, field))
            except ValueError as error:
                raise ValidationError(
                    {field: gettext("%(part)s is not a prefix range.") % {"part": error}}
                ) from None
        problems = origin.validate_criterion(self.as_spec())
        if problems:
            raise ValidationError(problems)
