from django.urls import path

from portal import (
    accounts,
    applications,
    certificates,
    dashboard,
    imports,
    producers,
    products,
    tokens,
    two_factor,
)

app_name = "portal"

urlpatterns = [
    path("portal/", dashboard.dashboard, name="dashboard"),
    path("portal/producers/", producers.producer_list, name="producers"),
    path("portal/producers/new/", producers.producer_create, name="producer-create"),
    path("portal/producers/<int:producer_id>/", producers.producer_detail, name="producer"),
    path("portal/producers/<int:producer_id>/edit/", producers.producer_edit, name="producer-edit"),
    path(
        "portal/producers/<int:producer_id>/members/",
        producers.producer_invite,
        name="producer-invite",
    ),
    path("portal/products/", products.product_list, name="products"),
    path("portal/products/new/", products.product_create, name="product-create"),
    path("portal/products/import/", imports.product_import, name="product-import"),
    path(
        "portal/products/import/template.csv",
        imports.import_template,
        name="product-import-template",
    ),
    path("portal/products/check/", products.product_check, name="product-check"),
    path("portal/hs-codes/", products.hs_lookup, name="hs-lookup"),
    path("portal/products/<int:product_id>/", products.product_detail, name="product"),
    path("portal/products/<int:product_id>/edit/", products.product_edit, name="product-edit"),
    path(
        "portal/products/<int:product_id>/apply/",
        applications.application_create,
        name="application-create",
    ),
    path("portal/applications/", applications.application_list, name="applications"),
    path(
        "portal/applications/<int:application_id>/",
        applications.application_detail,
        name="application",
    ),
    path(
        "portal/applications/<int:application_id>/submit/",
        applications.application_submit,
        name="application-submit",
    ),
    path(
        "portal/applications/<int:application_id>/withdraw/",
        applications.application_withdraw,
        name="application-withdraw",
    ),
    path(
        "portal/applications/<int:application_id>/documents/",
        applications.document_add,
        name="document-add",
    ),
    path(
        "portal/applications/<int:application_id>/documents/<int:document_id>/",
        applications.document_download,
        name="document",
    ),
    path("portal/certificates/", certificates.certificate_list, name="certificates"),
    path("portal/certificates/<str:number>/", certificates.certificate_detail, name="certificate"),
    path(
        "portal/certificates/<str:number>/pdf/",
        certificates.certificate_pdf,
        name="certificate-pdf",
    ),
    path(
        "portal/certificates/<str:number>/renew/",
        certificates.certificate_renew,
        name="certificate-renew",
    ),
    path("account/signup/", accounts.signup, name="signup"),
    path("account/login/", accounts.LoginView.as_view(), name="login"),
    path("account/login/code/", accounts.login_code, name="login-code"),
    path("account/logout/", accounts.LogoutView.as_view(), name="logout"),
    path("account/", accounts.account, name="account"),
    path(
        "account/sign-out-everywhere/",
        accounts.sign_out_everywhere,
        name="sign-out-everywhere",
    ),
    path("account/two-factor/", two_factor.overview, name="two-factor"),
    path("account/two-factor/setup/", two_factor.setup, name="two-factor-setup"),
    path(
        "account/two-factor/recovery-codes/",
        two_factor.recovery_codes,
        name="two-factor-recovery-codes",
    ),
    path("account/two-factor/turn-off/", two_factor.turn_off, name="two-factor-off"),
    path("account/tokens/", tokens.token_list, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token-revoke"),
    path("account/password/", accounts.PasswordChangeView.as_view(), name="password-change"),
    path("account/password/reset/", accounts.PasswordResetView.as_view(), name="password-reset"),
    path(
        "account/password/reset/sent/",
        accounts.PasswordResetSentView.as_view(),
        name="password-reset-sent",
    ),
    path(
        "account/password/reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
]
