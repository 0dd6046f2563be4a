from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Teams and API tokens"

    def ready(self) -> None:
        from accounts import signin  # noqa: F401 - connect its receivers
