"""A real OpenID provider for the tests: django-oidc-provider in a Django project of its own.

Started in its own process by tests/support/oidc.py (daphne over TLS with a CA the test
made). Its database, key and address come from the environment that module sets; two
instances may share one database (a second provider with the same users, clients and
signing key, so that only its issuer differs).
"""

import os

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = os.environ.get("OP_SECRET_KEY", "test-provider-only")
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oidc_provider",
    "tests.support.oidc_provider.testop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.support.oidc_provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(BASE_DIR, "templates")],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["OP_DB"],
        "OPTIONS": {"timeout": 20},
    }
}
# Tables made straight from the models (no migrations to run): a provider starts in seconds.
MIGRATION_MODULES = dict.fromkeys(("auth", "contenttypes", "sessions", "oidc_provider"))
USE_TZ = True
LOGIN_URL = "/login/"
# The issuer is SITE_URL + /openid: an instance may be told to call itself by another name.
SITE_URL = os.environ.get("OP_SITE_URL") or None
OIDC_EXTRA_SCOPE_CLAIMS = "tests.support.oidc_provider.testop.claims.GroupsClaims"
OIDC_IDTOKEN_INCLUDE_CLAIMS = True
OIDC_IDTOKEN_PROCESSING_HOOK = "tests.support.oidc_provider.testop.claims.fake_wrong_audience"
SESSION_COOKIE_NAME = "op_session"
CSRF_COOKIE_NAME = "op_csrftoken"
# The test-only user endpoint (testop/views.py) answers only to this.
TEST_ADMIN_TOKEN = os.environ["OP_TEST_ADMIN_TOKEN"]
