"""A team's notifications page: the signed-in user's e-mail choice, and (owners) the
team's webhooks with their delivery logs.  Each view parses its input, calls one
service and renders the result or the error."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from notifications import bootstrap
from notifications.application.payloads import CreateWebhook, UpdateWebhook
from notifications.domain.errors import NotOwner, TeamNotFound, WebhookNotFound
from notifications.forms import EmailForm, EnableForm, WebhookForm
from portal.kernel.errors import PortalError
from portal.kernel.events import known_actions
from portal.web import show_errors


def _page(request: HttpRequest, slug: str, form: WebhookForm | None = None, status: int = 200) -> HttpResponse:
    actor, service = bootstrap.actor(request), bootstrap.build().webhooks
    try:
        emails = service.get_email_preference(actor, slug)
        try:
            hooks, manages = service.get_list(actor, slug), True
        except NotOwner:
            hooks, manages = [], False
    except TeamNotFound:
        raise Http404("no such team") from None
    context = {
        "slug": slug,
        "role": service.get_role(actor, slug),
        "emails": emails,
        "hooks": hooks,
        "manages": manages,
        "form": form or WebhookForm(known=known_actions()),
    }
    return render(request, "notifications/team.html", context, status=status)


@login_required
@require_safe
def notifications_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, slug)


@login_required
@require_POST
def webhook_add(request: HttpRequest, slug: str) -> HttpResponse:
    form = WebhookForm(request.POST, known=known_actions())
    if form.is_valid():
        data = form.cleaned_data
        payload = CreateWebhook(
            url=data["url"],
            event_types=form.chosen_events(),
            description=data["description"],
            secret=data["secret"] or None,
        )
        try:
            hook = bootstrap.build().webhooks.create_one(bootstrap.actor(request), slug, payload)
        except TeamNotFound:
            raise Http404("no such team") from None
        except NotOwner as refused:
            return _not_owner(request, slug, refused)
        except PortalError as error:
            show_errors(form, error)
        else:
            shown = "" if data["secret"] else f" Its signing secret, shown this once: {hook.secret}"
            messages.success(request, f"Webhook {hook.id} added.{shown}")
            return redirect("team-notifications-page", slug=slug)
    return _page(request, slug, form=form, status=400)


def _change(request: HttpRequest, slug: str, webhook_id: int, change, said: str) -> HttpResponse:  # type: ignore[no-untyped-def]
    try:
        change(bootstrap.actor(request), bootstrap.build().webhooks)
    except (TeamNotFound, WebhookNotFound):
        raise Http404("no such webhook") from None
    except PortalError as error:
        messages.error(request, f"Nothing was changed: {error.message}")
    else:
        messages.success(request, said)
    return redirect("team-notifications-page", slug=slug)


@login_required
@require_POST
def webhook_enable(request: HttpRequest, slug: str, webhook_id: int) -> HttpResponse:
    form = EnableForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was changed: say whether to enable or disable it.")
        return redirect("team-notifications-page", slug=slug)
    enabled = form.cleaned_data["enabled"]
    return _change(
        request,
        slug,
        webhook_id,
        lambda actor, service: service.update_one(actor, slug, webhook_id, UpdateWebhook(enabled=enabled)),
        f"Webhook {webhook_id} {'enabled' if enabled else 'disabled'}.",
    )


@login_required
@require_POST
def webhook_delete(request: HttpRequest, slug: str, webhook_id: int) -> HttpResponse:
    return _change(
        request,
        slug,
        webhook_id,
        lambda actor, service: service.delete_one(actor, slug, webhook_id),
        f"Webhook {webhook_id} removed.",
    )


@login_required
@require_safe
def webhook_detail(request: HttpRequest, slug: str, webhook_id: int) -> HttpResponse:
    actor, service = bootstrap.actor(request), bootstrap.build().webhooks
    try:
        hook = service.get_one(actor, slug, webhook_id)
        deliveries = service.get_deliveries(actor, slug, webhook_id)
    except (TeamNotFound, WebhookNotFound):
        raise Http404("no such webhook") from None
    except NotOwner as refused:
        return _not_owner(request, slug, refused)
    return render(request, "notifications/webhook.html", {"slug": slug, "hook": hook, "deliveries": deliveries})


def _not_owner(request: HttpRequest, slug: str, refused: NotOwner) -> HttpResponse:
    return render(request, "notifications/not_owner.html", {"slug": slug, "message": refused.message}, status=403)


@login_required
@require_POST
def email_preference(request: HttpRequest, slug: str) -> HttpResponse:
    form = EmailForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was changed: choose on or off.")
        return redirect("team-notifications-page", slug=slug)
    enabled = form.cleaned_data["enabled"]
    try:
        bootstrap.build().webhooks.update_email_preference(bootstrap.actor(request), slug, enabled)
    except TeamNotFound:
        raise Http404("no such team") from None
    except PortalError as error:
        messages.error(request, f"Nothing was changed: {error.message}")
    else:
        messages.success(request, "You will get this team's e-mails." if enabled else "No more e-mails from this team.")
    return redirect("team-notifications-page", slug=slug)
