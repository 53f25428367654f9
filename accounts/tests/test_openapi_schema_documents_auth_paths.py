from __future__ import annotations

import pytest
import yaml

pytestmark = pytest.mark.django_db

EXPECTED = {
    "/api/auth/register": {"post"},
    "/api/auth/login": {"post"},
    "/api/auth/wechat/login": {"post"},
    "/api/auth/google/login": {"post"},
    "/api/auth/refresh": {"post"},
    "/api/auth/logout": {"post"},
    "/api/auth/me": {"get"},
    "/api/auth/password/reset": {"post"},
    "/api/auth/password/reset/confirm": {"post"},
    "/api/auth/email/verify": {"post"},
    "/api/users/profile": {"get", "put"},
    "/api/users/account": {"delete"},
}


def test_schema_documents_every_auth_and_user_path(api_client) -> None:
    response = api_client.get("/api/schema")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    for path, methods in EXPECTED.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path
    login = schema["paths"]["/api/auth/google/login"]["post"]
    assert "SocialAuthResponse" in str(login["responses"]["200"])
    assert "Bearer" in login["description"]
    # The domain errors a client must handle are documented with their codes.
    for method in ("/api/auth/google/login", "/api/auth/wechat/login"):
        responses = schema["paths"][method]["post"]["responses"]
        assert "social_account_taken" in responses["409"]["description"]
        assert "provider_unavailable" in responses["503"]["description"]
        assert "account_disabled" in responses["403"]["description"]
    refresh = schema["paths"]["/api/auth/refresh"]["post"]["responses"]
    assert "token_not_valid" in refresh["401"]["description"]
    erase = schema["paths"]["/api/users/account"]["delete"]["responses"]
    assert "reauthentication_required" in erase["403"]["description"]
    user = schema["components"]["schemas"]["User"]["properties"]
    assert set(user) == {
        "id",
        "email",
        "display_name",
        "avatar_url",
        "region",
        "locale",
        "email_verified",
        "date_joined",
        "providers",
    }
