from django.urls import path

from portal import accounts, producers, products

app_name = "portal"

urlpatterns = [
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
    path("portal/products/<int:product_id>/", products.product_detail, name="product"),
    path("portal/products/<int:product_id>/edit/", products.product_edit, name="product-edit"),
    path("account/signup/", accounts.signup, name="signup"),
    path("account/login/", accounts.LoginView.as_view(), name="login"),
    path("account/logout/", accounts.LogoutView.as_view(), name="logout"),
    path("account/", accounts.account, name="account"),
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
