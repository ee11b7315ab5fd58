/* The opportunity stages page: drag an open stage by its row to a new place among the open stages;
   won and lost rows do not move and nothing can be dropped after them. The new order is posted at
   once (services.stages.reorder_stages checks it again); a refusal puts the rows back and shows
   why. The arrow buttons do the same without a mouse. No inline scripts. */
(function () {
  "use strict";

  var body = document.getElementById("stage-order");
  if (!body) { return; }
  var dragged = null;
  var before = null;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr[data-stage]")); }

  function show(text, kind) {
    var holder = document.getElementById("stage-order-alerts");
    holder.textContent = "";
    var alert = document.createElement("div");
    alert.className = "alert alert-" + kind;
    alert.setAttribute("role", kind === "danger" ? "alert" : "status");
    alert.textContent = text;
    holder.appendChild(alert);
  }

  function save() {
    var data = new URLSearchParams();
    rows().forEach(function (row) { data.append("order", row.dataset.stage); });
    fetch(body.dataset.url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
    }).then(function (result) {
      if (result.ok) {
        show(result.answer.message || body.dataset.saved, "success");
        body.dataset.state = "saved";
      } else {
        before.forEach(function (row) { body.appendChild(row); });
        show(result.answer.message, "danger");
        body.dataset.state = "refused";
      }
    });
  }

  body.addEventListener("dragstart", function (event) {
    var row = event.target.closest ? event.target.closest("tr[draggable]") : null;
    if (!row) { event.preventDefault(); return; }
    dragged = row;
    before = rows();
    row.classList.add("opacity-50");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", row.dataset.stage);
  });

  body.addEventListener("dragover", function (event) {
    if (!dragged) { return; }
    var row = event.target.closest ? event.target.closest("tr[data-stage]") : null;
    if (!row || row === dragged) { return; }
    event.preventDefault();
    var box = row.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    if (row.dataset.closed) {  // open stages stay before won and lost
      var firstClosed = body.querySelector("tr[data-closed]");
      body.insertBefore(dragged, firstClosed);
      return;
    }
    body.insertBefore(dragged, after ? row.nextSibling : row);
  });

  body.addEventListener("drop", function (event) { if (dragged) { event.preventDefault(); } });

  body.addEventListener("dragend", function () {
    if (!dragged) { return; }
    dragged.classList.remove("opacity-50");
    var moved = rows().some(function (row, index) { return row !== before[index]; });
    dragged = null;
    if (moved) { save(); }
  });
})();
