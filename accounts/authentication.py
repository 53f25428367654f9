"""JWT authentication: simplejwt, and a disabled user is refused even with a valid token."""

from rest_framework_simplejwt.authentication import JWTAuthentication as _Base


class JWTAuthentication(_Base):
    pass
