"""Input serializers check the shape of requests; output serializers render objects.
Neither saves business state: the views hand validated data to certification.workflow.services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from certification.core import lifecycle
from certification.models import Application, ApplicationDocument
from registry.models import Currency, Material, MemberState, Producer, Product
from registry.selectors import in_language

# --- Errors (for the schema) -------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="Messages per field.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- Accounts ----------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False)
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="The six-digit code of the account's authenticator app (or a recovery "
        "code): required for reviewers and the secretariat, and for any account that set "
        "up an app.",
    )
    name = serializers.CharField(
        required=False, max_length=100, help_text='The new token\'s name; "API" if left out.'
    )
    days = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="How many days the token lasts; at most, and by default, the account's "
        "token lifetime (90 days unless the secretariat set a customs account's longer).",
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The key: in this answer only.")
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's first characters, as lists show it.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, min_length=1)
    full_name = serializers.CharField(max_length=200)


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    role = serializers.CharField()


# --- Producers ---------------------------------------------------------------------------


class ProducerInputSerializer(serializers.Serializer):
    legal_name = serializers.CharField(max_length=255)
    trade_name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=Producer.Kind.choices, required=False)
    member_state = serializers.ChoiceField(choices=[])
    tax_id = serializers.CharField(max_length=40)
    address = serializers.CharField()
    contact_email = serializers.EmailField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member_state"].choices = [
            (code, code) for code in ("UZ", "KZ", "KG", "TJ", "TM", "AZ")
        ]


class ProducerSerializer(serializers.ModelSerializer):
    member_state = serializers.CharField(source="member_state_id")
    verified = serializers.SerializerMethodField()

    class Meta:
        model = Producer
        fields = [
            "id",
            "legal_name",
            "trade_name",
            "kind",
            "member_state",
            "tax_id",
            "address",
            "contact_email",
            "verified",
            "verified_at",
            "created_at",
        ]

    def get_verified(self, producer) -> bool:
        return producer.verified_at is not None


class InviteSerializer(serializers.Serializer):
    email = serializers.EmailField()


class MembershipSerializer(serializers.Serializer):
    producer = serializers.IntegerField(source="producer_id")
    email = serializers.EmailField(source="user.email")
    invited_by = serializers.EmailField(source="invited_by.email", allow_null=True)
    created_at = serializers.DateTimeField()


# --- Products ----------------------------------------------------------------------------

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class MaterialInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=255)
    hs_code = serializers.RegexField(
        r"^\d{6}$", error_messages={"invalid": "An HS code has 6 digits."}
    )
    origin_country = serializers.CharField(
        max_length=2,
        min_length=2,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="ISO 3166-1 alpha-2; absent or null = unknown origin (non-originating).",
    )
    value = serializers.DecimalField(**AMOUNT)


class ProductInputSerializer(serializers.Serializer):
    producer = serializers.IntegerField()
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True)
    hs_code = serializers.RegexField(
        r"^\d{6}$", error_messages={"invalid": "An HS code has 6 digits."}
    )
    ex_works_price = serializers.DecimalField(**AMOUNT)
    currency = serializers.ChoiceField(choices=Currency.choices, required=False)
    process_steps = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=50
    )
    materials = MaterialInputSerializer(many=True, required=False, max_length=500)


class ProductPatchSerializer(ProductInputSerializer):
    """Every field optional; `materials`, when present, replaces the bill of materials."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("producer")
        for field in self.fields.values():
            field.required = False


class MaterialSerializer(serializers.ModelSerializer):
    class Meta:
        model = Material
        fields = ["description", "hs_code", "origin_country", "value"]


class ProductSerializer(serializers.ModelSerializer):
    materials = MaterialSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "producer",
            "name",
            "description",
            "hs_code",
            "ex_works_price",
            "currency",
            "process_steps",
            "materials",
            "created_at",
            "updated_at",
        ]


class CriterionResultSerializer(serializers.Serializer):
    alternative = serializers.IntegerField(help_text="0-based index of the alternative.")
    type = serializers.CharField()
    text = serializers.CharField()
    passed = serializers.BooleanField()
    tolerance_applied = serializers.BooleanField()
    figures = serializers.DictField()
    message = serializers.CharField()


class AssessmentSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=["PASS", "FAIL"])
    rule_set = serializers.DictField()
    rule = serializers.DictField()
    criteria = CriterionResultSerializer(many=True)
    figures = serializers.DictField()
    insufficient_operations = serializers.DictField()
    passing_alternative = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()

    def to_representation(self, instance):
        # A snapshot's words in the request's language (Accept-Language), as it was made.
        return super().to_representation(in_language(instance))


# --- Certificates ------------------------------------------------------------------------


class CertificateSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.SerializerMethodField(
        help_text="Derived when read: valid, not_yet_valid, expired, suspended or revoked."
    )
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    issued_at = serializers.DateTimeField()
    issuing_authority = serializers.SerializerMethodField()
    product = serializers.SerializerMethodField()
    producer = serializers.SerializerMethodField()
    origin_criterion = serializers.CharField()
    renews = serializers.SerializerMethodField()
    status_reason = serializers.CharField()
    status_changed_at = serializers.DateTimeField(allow_null=True)
    token = serializers.CharField()

    def get_status(self, cert) -> str:
        return lifecycle.derived_status(cert)

    @extend_schema_field(
        {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
    )
    def get_issuing_authority(self, cert):
        return {"code": cert.member_state_id, "name": cert.member_state.authority.name}

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "hs_code": {"type": "string"},
                "hs_description": {"type": "string"},
            },
        }
    )
    def get_product(self, cert):
        snap = cert.product_snapshot
        return {
            "name": snap["name"],
            "hs_code": snap["hs_code"],
            "hs_description": snap.get("hs_description", ""),
        }

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "country": {"type": "string"},
                "tax_id": {"type": "string", "nullable": True},
            },
        }
    )
    def get_producer(self, cert):
        snap = cert.producer_snapshot
        personal = snap["kind"] == Producer.Kind.INDIVIDUAL
        return {
            "name": snap["legal_name"],
            "country": snap["member_state"],
            "tax_id": None if personal else snap["tax_id"],
        }

    def get_renews(self, cert) -> str | None:
        return cert.renews.number if cert.renews_id else None


# --- Applications ------------------------------------------------------------------------


class ApplicationInputSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    renews = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Number of the certificate this renews.",
    )


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class DocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApplicationDocument
        fields = ["id", "original_name", "content_type", "size", "sha256", "uploaded_at"]


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PDF, PNG or JPEG, at most 10 MB.")


class ApplicationSerializer(serializers.ModelSerializer):
    member_state = serializers.CharField(source="member_state_id")
    renews = serializers.SerializerMethodField()
    flagged = serializers.BooleanField(
        help_text="True when the assessment snapshotted on submit fails."
    )
    documents = DocumentSerializer(many=True, read_only=True)
    certificate = serializers.SerializerMethodField()
    assessment = AssessmentSerializer(allow_null=True)

    class Meta:
        model = Application
        fields = [
            "id",
            "product",
            "producer",
            "member_state",
            "status",
            "renews",
            "flagged",
            "created_at",
            "updated_at",
            "submitted_at",
            "decided_at",
            "last_comment",
            "override_reason",
            "assessment",
            "product_snapshot",
            "documents",
            "certificate",
        ]

    def get_renews(self, app) -> str | None:
        return app.renews.number if app.renews_id else None

    @extend_schema_field(CertificateSerializer(allow_null=True))
    def get_certificate(self, app):
        certificate = getattr(app, "certificate", None) if app.status == "approved" else None
        return CertificateSerializer(certificate).data if certificate else None


class MemberStateSerializer(serializers.ModelSerializer):
    authority = serializers.CharField(source="authority.name")
    certificate_validity_months = serializers.IntegerField(
        source="authority.certificate_validity_months"
    )

    class Meta:
        model = MemberState
        fields = ["code", "name", "time_zone", "authority", "certificate_validity_months"]
