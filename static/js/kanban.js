/* The opportunity board (loaded on that page only). Drag a card to another stage column: the card
   moves at once, the server (services.move_stage) decides. A refusal (an approval is required, the
   opportunity is closed, a lost reason is missing) answers 409 with the message: the card goes back
   to where it was and the message is shown. On success the columns are re-rendered, so the counts
   and sums are the server's. Moving to a lost stage asks for the reason first. No inline scripts. */
(function () {
  "use strict";

  var board = document.getElementById("board");
  if (!board) { return; }

  var dragged = null;   // the card being dragged
  var origin = null;    // where it came from: {parent, next, column}

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function showAlert(text, kind, link) {
    var holder = document.getElementById("board-alerts");
    var alert = document.createElement("div");
    alert.className = "alert alert-" + kind + " alert-dismissible fade show shadow-sm";
    alert.setAttribute("role", kind === "danger" ? "alert" : "status");
    var message = document.createElement("span");
    message.textContent = text;
    alert.appendChild(message);
    if (link) {
      var a = document.createElement("a");
      a.href = link;
      a.className = "alert-link d-block mt-1";
      a.textContent = board.dataset.openLabel;
      alert.appendChild(a);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", board.dataset.closeLabel || "Close");
    alert.appendChild(close);
    holder.appendChild(alert);
    window.setTimeout(function () {
      if (alert.isConnected) { bootstrap.Alert.getOrCreateInstance(alert).close(); }
    }, kind === "success" ? 4000 : 12000);
  }

  function putBack(card, from) {
    if (from.next && from.next.parentNode === from.parent) {
      from.parent.insertBefore(card, from.next);
    } else {
      from.parent.appendChild(card);
    }
  }

  function refresh() {
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    return fetch(url.toString(), { credentials: "same-origin", headers: { "X-Requested-With": "XMLHttpRequest" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) { board.innerHTML = html; focusCard(); });
  }

  var refocus = null;   // the card moved by the keyboard: its button gets the focus back
  function focusCard() {
    if (!refocus) { return; }
    var button = board.querySelector(".kanban-card[data-id='" + refocus + "'] [data-move]");
    var link = board.querySelector(".kanban-card[data-id='" + refocus + "'] a");
    if (button || link) { (button || link).focus(); }
  }

  function send(card, column, from, reason) {
    var body = new FormData();
    body.append("stage", column.dataset.stage);
    if (reason) { body.append("lost_reason", reason); }
    card.classList.add("opacity-50");
    card.setAttribute("aria-busy", "true");
    fetch(card.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    })
      .then(function (response) {
        return response.json()
          .catch(function () { return { ok: false, message: board.dataset.errorLabel }; })
          .then(function (data) { return { status: response.status, data: data }; });
      })
      .then(function (result) {
        card.classList.remove("opacity-50");
        card.removeAttribute("aria-busy");
        if (result.status === 200 && result.data.ok) {
          showAlert(result.data.message, "success");
          return refresh().catch(function () { window.location.reload(); });
        }
        putBack(card, from);
        if (result.data.code === "approval_required" && (result.data.request_url || result.data.waiting)) {
          offerApproval(result.data);
          return;
        }
        showAlert(result.data.message || board.dataset.errorLabel, "danger", result.data.url);
      })
      .catch(function () {
        card.classList.remove("opacity-50");
        card.removeAttribute("aria-busy");
        putBack(card, from);
        showAlert(board.dataset.errorLabel, "danger");
      });
  }

  /* The lost reason, asked in the page's modal. One drop waits for it at a time; closing the
     modal without a reason cancels that drop. A drop made while the modal is still fading out
     waits until it is hidden (Bootstrap ignores show() during a transition). */
  var lostModal = document.getElementById("lost-modal");
  var lostForm = lostModal.querySelector("form");
  var lostInput = lostForm.querySelector("textarea");
  var asking = null;   // {stageName, onOk, onCancel, done}
  var hiding = false;
  var queued = null;

  function openLostModal(request) {
    asking = request;
    lostInput.value = "";
    lostInput.classList.remove("is-invalid");
    lostModal.querySelector(".js-lost-stage").textContent = request.stageName;
    bootstrap.Modal.getOrCreateInstance(lostModal).show();
  }

  lostForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!asking || asking.done) { return; }
    var reason = lostInput.value.trim();
    if (!reason) {
      lostInput.classList.add("is-invalid");
      lostInput.focus();
      return;
    }
    var request = asking;
    request.done = true;
    bootstrap.Modal.getOrCreateInstance(lostModal).hide();
    request.onOk(reason);
  });
  lostModal.addEventListener("hide.bs.modal", function () {
    hiding = true;
    if (asking && !asking.done) {
      asking.done = true;
      asking.onCancel();
    }
  });
  lostModal.addEventListener("hidden.bs.modal", function () {
    hiding = false;
    asking = null;
    if (queued) {
      var next = queued;
      queued = null;
      openLostModal(next);
    }
  });
  lostModal.addEventListener("shown.bs.modal", function () { lostInput.focus(); });

  function askReason(stageName, onOk, onCancel) {
    var request = { stageName: stageName, onOk: onOk, onCancel: onCancel, done: false };
    if (hiding) {
      queued = request;
    } else {
      openLostModal(request);
    }
  }

  /* A drop on a stage past a key control point: offer to ask for the approval right here (or
     say who decides the request already waiting). The card stays where it was until approved. */
  var approvalModal = document.getElementById("approval-modal");
  var approvalForm = approvalModal.querySelector("form");
  var approvalOffer = null;

  function offerApproval(offer) {
    approvalOffer = offer;
    approvalModal.querySelector(".js-approval-text").textContent =
      (board.dataset.needsLabel || "{stage}").replace("{stage}", offer.stage_name || "");
    var waiting = !!offer.waiting;
    approvalModal.querySelector(".js-approval-ask").classList.toggle("d-none", waiting);
    approvalModal.querySelector(".js-approval-waiting").classList.toggle("d-none", !waiting);
    approvalModal.querySelector(".js-approval-next").textContent = (offer.next_approvers || []).join("、");
    approvalModal.querySelector(".js-approval-submit").classList.toggle("d-none", waiting || !offer.request_url);
    var open = approvalModal.querySelector(".js-approval-open");
    open.classList.toggle("d-none", !offer.request_page);
    open.href = offer.request_page || "#";
    bootstrap.Modal.getOrCreateInstance(approvalModal).show();
  }

  approvalModal.addEventListener("shown.bs.modal", function () {
    var primary = approvalModal.querySelector(".js-approval-submit:not(.d-none)") ||
      approvalModal.querySelector(".js-approval-open:not(.d-none)") || approvalModal.querySelector(".btn-close");
    primary.focus();
  });

  approvalForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!approvalOffer || !approvalOffer.request_url) { return; }
    var url = approvalOffer.request_url;
    approvalOffer = null;
    var button = approvalForm.querySelector(".js-approval-submit");
    button.disabled = true;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    })
      .then(function (response) {
        return response.json()
          .catch(function () { return { ok: false, message: board.dataset.errorLabel }; });
      })
      .then(function (data) {
        button.disabled = false;
        bootstrap.Modal.getOrCreateInstance(approvalModal).hide();
        showAlert(data.message || board.dataset.errorLabel, data.ok ? "success" : "danger");
        if (data.ok) { return refresh().catch(function () { window.location.reload(); }); }
      })
      .catch(function () {
        button.disabled = false;
        showAlert(board.dataset.errorLabel, "danger");
      });
  });

  function clearHighlights() {
    board.querySelectorAll(".kanban-column.drag-over").forEach(function (c) { c.classList.remove("drag-over"); });
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".kanban-card[draggable=true]");
    if (!card) { return; }
    dragged = card;
    origin = { parent: card.parentNode, next: card.nextElementSibling, column: card.closest(".kanban-column") };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.id);
    card.classList.add("dragging");
  });

  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    clearHighlights();
  });

  board.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".kanban-column");
    if (!dragged || !column) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("drag-over")) {
      clearHighlights();
      column.classList.add("drag-over");
    }
  });

  board.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".kanban-column");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("drag-over"); }
  });

  /* The keyboard's way: a card's "移动到…" button opens a dialog listing the stages; choosing one
     moves the card as a drop would. Focus returns to the card's button; the result is announced
     in the live region (#board-alerts). */
  var moveModal = document.getElementById("move-modal");
  var moving = null;   // the card whose button opened the dialog

  function moveTo(card, column) {
    var from = { parent: card.parentNode, next: card.nextElementSibling, column: card.closest(".kanban-column") };
    if (column === from.column) { return; }
    var zone = column.querySelector("[data-dropzone]");
    zone.insertBefore(card, zone.firstChild);
    if (column.dataset.lost === "1") {
      askReason(column.dataset.stageName, function (reason) {
        send(card, column, from, reason);
      }, function () {
        putBack(card, from);
      });
    } else {
      send(card, column, from, "");
    }
  }

  board.addEventListener("click", function (event) {
    var button = event.target.closest("[data-move]");
    if (!button) { return; }
    moving = button.closest(".kanban-card");
    var current = moving.closest(".kanban-column").dataset.stage;
    moveModal.querySelector(".js-move-name").textContent = moving.querySelector("a").textContent;
    moveModal.querySelectorAll("[data-move-to]").forEach(function (choice) {
      var here = choice.dataset.moveTo === current;
      choice.disabled = here;
      if (here) { choice.setAttribute("aria-current", "true"); } else { choice.removeAttribute("aria-current"); }
    });
    bootstrap.Modal.getOrCreateInstance(moveModal).show();
  });
  moveModal.addEventListener("shown.bs.modal", function () {
    var first = moveModal.querySelector("[data-move-to]:not([disabled])");
    if (first) { first.focus(); }
  });
  moveModal.addEventListener("click", function (event) {
    var choice = event.target.closest("[data-move-to]");
    if (!choice || !moving) { return; }
    var card = moving;
    moving = null;
    var column = board.querySelector(".kanban-column[data-stage='" + choice.dataset.moveTo + "']");
    refocus = card.dataset.id;
    bootstrap.Modal.getOrCreateInstance(moveModal).hide();
    moveTo(card, column);
  });
  moveModal.addEventListener("hidden.bs.modal", function () { focusCard(); });

  board.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".kanban-column");
    if (!dragged || !column) { return; }
    event.preventDefault();
    clearHighlights();
    var card = dragged;
    var from = origin;
    dragged = null;
    origin = null;
    card.classList.remove("dragging");
    if (column === from.column) { return; }
    var zone = column.querySelector("[data-dropzone]");
    zone.insertBefore(card, zone.firstChild);
    if (column.dataset.lost === "1") {
      askReason(column.dataset.stageName, function (reason) {
        send(card, column, from, reason);
      }, function () {
        putBack(card, from);
      });
    } else {
      send(card, column, from, "");
    }
  });
})();
