from django.urls import path

from accounts.api import views

urlpatterns = [
    path("register", views.RegisterView.as_view(), name="auth-register"),
    path("login", views.LoginView.as_view(), name="auth-login"),
    path("google/login", views.GoogleLoginView.as_view(), name="auth-google-login"),
    path("wechat/login", views.WeChatLoginView.as_view(), name="auth-wechat-login"),
    path("refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("logout", views.LogoutView.as_view(), name="auth-logout"),
    path("me", views.MeView.as_view(), name="auth-me"),
    path("password/reset", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path(
        "password/reset/confirm",
        views.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("email/verify", views.EmailVerifyView.as_view(), name="auth-email-verify"),
    path("email/resend", views.EmailResendView.as_view(), name="auth-email-resend"),
]
