// The portal's only script: no framework, no CDN.
(function () {
  "use strict";

  // After a failed submit, move focus to the list of problems (screen readers read it).
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  // The server picker.  The page lists the first servers that match its search (by GET,
  // which works without script) below the picked ones.  Here the search asks the portal
  // as the user types, so the whole inventory can be searched however large it is; the
  // picked servers stay listed above the matches whatever the search, and are sent.
  function serverPicker(picker) {
    var form = document.getElementById("server-search-form");
    var input = document.getElementById("server-search");
    var picked = picker.querySelector("tbody[data-picked]");
    var found = picker.querySelector("tbody[data-found]");
    var count = document.getElementById("server-count");
    var summary = document.getElementById("server-summary");
    var asked = 0; // the latest search: only its answer is shown, whatever order answers come in
    var typing = null;

    function rows(tbody) { return Array.prototype.slice.call(tbody.rows); }
    function ticked(row) {
      var box = row.querySelector("input[name=servers]");
      return Boolean(box && box.checked && !box.disabled);
    }
    function name(row) { return row.querySelector("label").textContent; }
    function summarize() {
      var names = rows(picked).concat(rows(found)).filter(ticked).map(name).sort();
      summary.textContent = names.length ? "Selected (" + names.length + "): " + names.join(", ") + "." : "None selected yet.";
    }
    // Before the matches change: what was ticked among them joins the picked rows, and
    // what was unticked there leaves them (current members stay, to be ticked again).
    function settle() {
      rows(found).filter(ticked).forEach(function (row) { picked.appendChild(row); });
      rows(picked).forEach(function (row) { if (!ticked(row) && !("kept" in row.dataset)) row.remove(); });
      rows(picked).sort(function (a, b) { return name(a) < name(b) ? -1 : 1; })
        .forEach(function (row) { picked.appendChild(row); });
    }
    function show(answer) {
      settle();
      var listed = {};
      rows(picked).forEach(function (row) { listed[row.dataset.server] = true; });
      var template = document.createElement("template");
      template.innerHTML = answer.rows;
      var matches = Array.prototype.filter.call(template.content.children, function (row) {
        return !listed[row.dataset.server];
      });
      found.replaceChildren.apply(found, matches);
      count.textContent = answer.count;
    }
    function search() {
      window.clearTimeout(typing);
      var query = new URLSearchParams(new FormData(form)).toString();
      var ticket = ++asked;
      // The address says what is shown, so a reload (or a failed submit) shows it again.
      window.history.replaceState(null, "", window.location.pathname + "?" + query);
      fetch(picker.dataset.url + "?" + query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (answer) {
            if (!response.ok || typeof answer.rows !== "string") {
              throw new Error(answer.message || "the portal answered " + response.status);
            }
            return answer;
          });
        })
        .then(function (answer) { if (ticket === asked) show(answer); })
        .catch(function (error) {
          if (ticket === asked) count.textContent = "The servers could not be searched: " + error.message;
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(typing);
      typing = window.setTimeout(search, 250); // one request once the user pauses, not one per key
    });
    document.getElementById("server-status").addEventListener("change", search);
    // Enter in the search box, or its button: search here instead of loading the page again.
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      search();
    });
    picker.addEventListener("change", function (event) { if (event.target.name === "servers") summarize(); });
    summarize(); // the browser may have restored ticks (going back to the page)
  }
  var picker = document.getElementById("server-picker");
  if (picker) serverPicker(picker);

  // The list's "select all" box: ticks or unticks every load balancer on the page that
  // can be deleted.  Without script it stays hidden and each one is ticked by hand.
  var selectAll = document.querySelector("[data-select-all]");
  if (selectAll) {
    var boxes = Array.prototype.slice.call(document.querySelectorAll("input[data-selectable]"));
    var reflect = function () {
      var ticked = boxes.filter(function (box) { return box.checked; }).length;
      selectAll.checked = ticked === boxes.length;
      selectAll.indeterminate = ticked > 0 && ticked < boxes.length;
    };
    selectAll.hidden = false;
    selectAll.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = selectAll.checked; });
      reflect();
    });
    boxes.forEach(function (box) { box.addEventListener("change", reflect); });
    reflect(); // the browser may have restored ticks (going back to the page)
  }

  // Copy buttons: the text of the element they name goes to the clipboard.  Without the
  // clipboard (no permission, or a page not served over HTTPS) the text is selected
  // instead, for the user to copy with the keyboard.
  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    var note = document.querySelector('[data-copy-note="' + button.dataset.copy + '"]');
    function fallBack() {
      selectText(source);
      note.textContent = "Selected: press Ctrl+C (⌘C on a Mac) to copy.";
    }
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      if (!navigator.clipboard || !window.isSecureContext) { fallBack(); return; }
      navigator.clipboard.writeText(text).then(function () { note.textContent = "Copied " + text + "."; }, fallBack);
    });
  });

  var TONES = { ACTIVE: "ok", ONLINE: "ok", OK: "ok", DEGRADED: "warn", DRAINING: "warn", MAINTENANCE: "warn", ERROR: "bad", DOWN: "bad" };
  function tone(status) { return status.indexOf("PENDING_") === 0 ? "pending" : (TONES[status] || "muted"); }
  function isPending(status) { return status.indexOf("PENDING_") === 0; }
  function badge(status) {
    var element = document.createElement("span");
    element.className = "badge badge-" + tone(status);
    element.textContent = status.replace(/_/g, " ").toLowerCase();
    return element;
  }
  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      });
  }
  // Ask ``url`` every second while ``show`` (given the answer) says there is more to
  // follow; stop once it says no.  An unreachable portal is asked again, less often.
  function follow(url, show) {
    var delay = 1000;
    function poll() {
      getJson(url)
        .then(function (answer) {
          delay = 1000;
          if (show(answer)) window.setTimeout(poll, delay);
        })
        .catch(function () {
          delay = Math.min(delay * 2, 15000);
          window.setTimeout(poll, delay);
        });
    }
    window.setTimeout(poll, delay);
  }

  // The list follows its PENDING_* rows (one request for the page, as the page asked
  // it of the API), and stops once none is pending.  A row the page's query no longer
  // finds (deleted, or moved to another page) is asked for by itself.
  var list = document.getElementById("lb-list");
  if (list) {
    var pendingRows = function () {
      return Array.prototype.slice.call(list.querySelectorAll('tr[data-pending="true"]'));
    };
    var showRow = function (row, lb) {
      var cell = function (name) { return row.querySelector('[data-field="' + name + '"]'); };
      var before = row.dataset.shown || "";
      var now = JSON.stringify([lb.provisioning_status, lb.operating_status, lb.vip_address]);
      row.dataset.pending = isPending(lb.provisioning_status) ? "true" : "false";
      if (now === before) return;
      row.dataset.shown = now;
      cell("provisioning_status").replaceChildren(badge(lb.provisioning_status));
      cell("operating_status").replaceChildren(badge(lb.operating_status));
      cell("vip_address").textContent = lb.vip_address || "—";
    };
    if (pendingRows().length) {
      follow(list.dataset.url, function (answer) {
        var found = {};
        (answer.items || []).forEach(function (lb) { found[lb.id] = lb; });
        pendingRows().forEach(function (row) {
          if (found[row.dataset.lb]) showRow(row, found[row.dataset.lb]);
          else getJson(row.dataset.url).then(function (lb) { showRow(row, lb); }, function () {});
        });
        return pendingRows().length > 0;
      });
    }
  }

  // A load balancer's page follows its status while it is PENDING_*, and stops once final.
  var card = document.getElementById("status");
  if (!card || card.dataset.pending !== "true") return;

  function field(name) { return document.querySelector('[data-field="' + name + '"]'); }
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
      tr.dataset.member = String(server.id);
      var address = server.address.indexOf(":") >= 0 ? "[" + server.address + "]" : server.address;
      tr.append(
        cell(server.name), cell(address + ":" + server.port, "mono"), cell(String(server.weight)),
        cell(server.admin_state + (server.drained_by_inventory ? " (inventory)" : "")),
        cell(badge(server.operating_status)), cell(server.status_reason || ""), cell(badge(server.status))
      );
      return tr;
    });
    field("members").querySelector("tbody").replaceChildren.apply(field("members").querySelector("tbody"), rows);
    field("members").hidden = servers.length === 0;
    field("no_members").hidden = servers.length > 0;
  }

  var shown = "";
  function show(lb) {
    var pending = isPending(lb.provisioning_status);
    // Touch the page (and so the live region a screen reader follows) only on a change.
    var now = JSON.stringify([lb.provisioning_status, lb.operating_status, lb.vip_address, lb.error_reason, lb.servers, lb.notices]);
    if (now === shown) return pending;
    shown = now;
    showBadge("provisioning_status", lb.provisioning_status);
    showBadge("operating_status", lb.operating_status);
    field("vip_address").textContent =
      lb.vip_address || (lb.provisioning_status === "DELETED" ? "released" : "not assigned yet");
    var copy = document.querySelector('button[data-copy="vip"]');
    if (copy) copy.hidden = !lb.vip_address;
    showMembers(lb.servers);
    field("notices").replaceChildren.apply(field("notices"), (lb.notices || []).map(function (notice) {
      var p = document.createElement("p");
      p.className = "message message-warning";
      p.setAttribute("role", "note");
      p.textContent = notice.charAt(0).toUpperCase() + notice.slice(1) + ".";
      return p;
    }));
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

  follow(card.dataset.url, show);
})();
