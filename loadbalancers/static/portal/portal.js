// The portal's only script: no framework, no CDN.
(function () {
  "use strict";

  // After a failed submit, move focus to the list of problems (screen readers read it).
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  // A load balancer's page follows its status while it is PENDING_*, and stops once final.
  var card = document.getElementById("status");
  if (!card || card.dataset.pending !== "true") return;

  var TONES = { ACTIVE: "ok", ONLINE: "ok", OK: "ok", DEGRADED: "warn", MAINTENANCE: "warn", ERROR: "bad", DOWN: "bad" };
  function tone(status) { return status.indexOf("PENDING_") === 0 ? "pending" : (TONES[status] || "muted"); }
  function field(name) { return document.querySelector('[data-field="' + name + '"]'); }
  function badge(status) {
    var element = document.createElement("span");
    element.className = "badge badge-" + tone(status);
    element.textContent = status.replace(/_/g, " ").toLowerCase();
    return element;
  }
  function showBadge(name, status) { field(name).replaceChildren(badge(status)); }
  function cell(content, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    if (typeof content === "string") td.textContent = content; else td.appendChild(content);
    return td;
  }
  function showMembers(servers) {
    var rows = servers.map(function (server) {
      var tr = document.createElement("tr");
      var address = server.address.indexOf(":") >= 0 ? "[" + server.address + "]" : server.address;
      tr.append(cell(server.name), cell(address + ":" + server.port, "mono"), cell(badge(server.status)));
      return tr;
    });
    field("members").querySelector("tbody").replaceChildren.apply(field("members").querySelector("tbody"), rows);
    field("members").hidden = servers.length === 0;
    field("no_members").hidden = servers.length > 0;
  }

  var shown = "";
  function show(lb) {
    var pending = lb.provisioning_status.indexOf("PENDING_") === 0;
    // Touch the page (and so the live region a screen reader follows) only on a change.
    var now = JSON.stringify([lb.provisioning_status, lb.operating_status, lb.vip_address, lb.error_reason, lb.servers]);
    if (now === shown) return pending;
    shown = now;
    showBadge("provisioning_status", lb.provisioning_status);
    showBadge("operating_status", lb.operating_status);
    field("vip_address").textContent =
      lb.vip_address || (lb.provisioning_status === "DELETED" ? "released" : "not assigned yet");
    showMembers(lb.servers);
    field("progress").textContent = pending ? "Working on it at the provider; this page updates by itself." : "";
    var errorBox = field("error_reason");
    errorBox.hidden = !(lb.error_reason && lb.provisioning_status === "ERROR");
    errorBox.querySelector("p").textContent = lb.error_reason || "";
    document.querySelectorAll("[data-when]").forEach(function (action) {
      action.hidden = action.dataset.when.split(" ").indexOf(lb.provisioning_status) < 0;
    });
    document.title = lb.name + " (" + lb.provisioning_status.toLowerCase() + ") · LB portal";
    return pending;
  }

  var delay = 1000;
  function poll() {
    fetch(card.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (lb) {
        delay = 1000;
        if (show(lb)) window.setTimeout(poll, delay);
      })
      .catch(function () {
        delay = Math.min(delay * 2, 15000); // the portal is unreachable for now: try again, less often
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
