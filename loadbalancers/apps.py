from django.apps import AppConfig


class LoadbalancersConfig(AppConfig):
    name = "loadbalancers"
    verbose_name = "Load balancers"

    def ready(self) -> None:
        from accounts import bootstrap as accounts_bootstrap
        from loadbalancers.adapters.usage import LoadBalancerServerUsage, LoadBalancerTeamUsage
        from loadbalancers.bootstrap import on_server_changed
        from portal import events as portal_events
        from servers import bootstrap as servers_bootstrap
        from servers.domain.events import ServerUpdated

        servers_bootstrap.register_usage(LoadBalancerServerUsage())
        accounts_bootstrap.register_usage(LoadBalancerTeamUsage())
        portal_events.subscribe(ServerUpdated, on_server_changed)
        self._check_providers()

    @staticmethod
    def _check_providers() -> None:
        """Build the enabled providers once at start-up, so that a bad provider setting
        stops the process with its message instead of failing the first request."""
        from django.core.exceptions import ImproperlyConfigured

        from loadbalancers.bootstrap import check_providers

        try:
            check_providers()
        except ValueError as invalid:
            raise ImproperlyConfigured(f"LBaaS provider settings: {invalid}") from None
