"""Load balancers made on the haproxy provider before monitors existed were checked by
HAProxy all the same (``option httpchk GET /`` in HTTP mode, every 2 s, down after 2
failures, up after 1): their records get that monitor, so that they keep it (the
adapter keeps it for them too, see ``haproxy.legacy_monitor``).  Other providers' load
balancers had no monitor of their own: they stay without."""

from django.db import migrations


def legacy_monitor(listener_protocol):
    monitor = {"type": "HTTP" if listener_protocol == "HTTP" else "TCP", "interval": 2, "timeout": 1}
    monitor.update(retries_up=1, retries_down=2)
    if monitor["type"] == "HTTP":
        monitor.update(http_path="/", expected_codes="200-399")
    return monitor


def give_haproxy_load_balancers_their_checks(apps, schema_editor):
    LoadBalancer = apps.get_model("loadbalancers", "LoadBalancer")
    rows = LoadBalancer.objects.filter(provider="haproxy", health_monitor__isnull=True).exclude(
        provisioning_status="DELETED"
    )
    for protocol in ("HTTP", "TCP"):
        rows.filter(listener_protocol=protocol).update(health_monitor=legacy_monitor(protocol))


class Migration(migrations.Migration):
    dependencies = [("loadbalancers", "0007_member_settings_monitor_tags")]

    operations = [migrations.RunPython(give_haproxy_load_balancers_their_checks, migrations.RunPython.noop)]
