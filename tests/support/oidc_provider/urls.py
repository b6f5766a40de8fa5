from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from .testop.views import FakeFlippingTokenView, test_admin_user

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    # Before the provider's own token route, so a "fake-flip-" user's token can be spoiled.
    re_path(r"^openid/token/?$", csrf_exempt(FakeFlippingTokenView.as_view())),
    path("test-admin/user/", test_admin_user),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
