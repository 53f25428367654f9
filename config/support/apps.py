from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class SupportConfig(AppConfig):
    default = True
    name = "config.support"
    label = "support"
    verbose_name = "Support"


class SupportAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with support's site as ``admin.site``."""

    default = False
    default_site = "config.support.site.SupportAdminSite"
