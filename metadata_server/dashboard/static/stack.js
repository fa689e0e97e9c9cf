// Redraws the stack page's graph, status and events from live.json every two seconds until the
// stack settles; the page is complete without it (server-rendered), this only keeps it current.
(function () {
  "use strict";
  var box = document.getElementById("graph");
  if (!box) { return; }
  var url = box.getAttribute("data-live");
  var delay = 2000;

  function badge(status, kind, icon) {
    var span = document.createElement("span");
    span.className = "badge " + kind;
    var mark = document.createElement("span");
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = icon;
    span.appendChild(mark);
    span.appendChild(document.createTextNode(" " + status));
    return span;
  }

  function apply(data) {
    // svg and events are markup the server rendered with escaping; status text goes in as text
    box.innerHTML = data.svg;
    document.getElementById("events").innerHTML = data.events;
    document.getElementById("resources").innerHTML = data.resources;
    var status = document.getElementById("stack-status");
    if (status.getAttribute("data-status") !== data.stack_status) {
      status.setAttribute("data-status", data.stack_status);
      status.replaceChildren(badge(data.stack_status, data.kind, data.icon));
    }
    document.getElementById("stack-reason").textContent = data.reason;
    // counted across the final reload, so a test can tell the page was redrawn live
    var redraws = Number(window.sessionStorage.getItem("stoker-redraws") || "0");
    window.sessionStorage.setItem("stoker-redraws", String(redraws + 1));
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (data) {
        apply(data);
        if (data.settled) {
          // the final outputs are rendered with the page: load it once more
          window.location.reload();
          return;
        }
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, delay * 3); });
  }
  if (box.getAttribute("data-settled") !== "true") { window.setTimeout(poll, delay); }
})();
