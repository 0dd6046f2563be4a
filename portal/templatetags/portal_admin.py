from django import template

from portal.runtime import instance_id

register = template.Library()


@register.simple_tag
def installation_id() -> str:
    return instance_id()
