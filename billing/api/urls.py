from django.urls import path

from billing.api import views

urlpatterns = [
    path("packages", views.PackageListView.as_view(), name="payments-packages"),
    path("stripe/create", views.StripeCreateView.as_view(), name="payments-stripe-create"),
    path("wechat/create", views.WechatCreateView.as_view(), name="payments-wechat-create"),
    path("webhook/stripe", views.StripeWebhookView.as_view(), name="payments-webhook-stripe"),
    path("webhook/wechat", views.WechatWebhookView.as_view(), name="payments-webhook-wechat"),
    path("<uuid:payment_id>", views.PaymentDetailView.as_view(), name="payments-detail"),
]
