// The portal's only script: no framework, no CDN.
(function () {
  "use strict";

  // After a failed submit, move focus to the list of problems (screen readers read it).
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  // The server picker gets a filter box (without script, the whole list simply shows):
  // typing part of a name, address or status narrows the list; ticked servers always
  // stay in view, so nothing picked is ever hidden.
  document.querySelectorAll("table.picker").forEach(function (table) {
    var rows = Array.prototype.filter.call(table.tBodies[0].rows, function (row) {
      return row.querySelector("input[type=checkbox]");
    });
    if (rows.length < 2) return;
    var box = document.createElement("div");
    box.className = "picker-filter";
    box.innerHTML =
      '<label for="server-filter">Filter servers</label>' +
      '<input type="search" id="server-filter" autocomplete="off" aria-describedby="server-filter-count">' +
      '<p class="hint" id="server-filter-count" aria-live="polite"></p>';
    table.parentNode.parentNode.insertBefore(box, table.parentNode);
    var input = box.querySelector("input");
    var count = box.querySelector("p");
    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var visible = 0;
      rows.forEach(function (row) {
        var text = row.textContent.toLowerCase();
        var match = words.every(function (word) { return text.indexOf(word) >= 0; });
        row.hidden = !(match || row.querySelector("input").checked);
        if (!row.hidden) visible += 1;
      });
      count.textContent = words.length
        ? "Showing " + visible + " of " + rows.length + " servers (ticked ones always stay)."
        : "Showing all " + rows.length + " servers.";
    }
    input.addEventListener("input", apply);
    // Enter in the filter narrows the list; it must not submit the form.
    input.addEventListener("keydown", function (event) { if (event.key === "Enter") event.preventDefault(); });
    apply();
  });

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
