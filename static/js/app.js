/* Behaviour for every page. No inline scripts: pages mark elements with data attributes. */
(function () {
  "use strict";

  function confirmThen(text, extraNode, onOk) {
    var modalEl = document.getElementById("confirm-modal");
    var modal = bootstrap.Modal.getOrCreateInstance(modalEl);
    modalEl.querySelector(".js-confirm-text").textContent = text;
    var extra = modalEl.querySelector(".js-confirm-extra");
    extra.innerHTML = "";
    if (extraNode) { extra.appendChild(extraNode); }
    var ok = modalEl.querySelector(".js-confirm-ok");
    var fresh = ok.cloneNode(true);
    ok.parentNode.replaceChild(fresh, ok);
    fresh.addEventListener("click", function () { onOk(extra); modal.hide(); });
    modal.show();
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.classList.contains("js-autosubmit")) { el.form.submit(); }
    if (el.classList.contains("js-select-all")) {
      var table = el.closest("table");
      table.querySelectorAll(".js-select-row").forEach(function (box) { box.checked = el.checked; });
    }
    if (el.classList.contains("js-select-all") || el.classList.contains("js-select-row")) {
      var form = el.closest("form");
      var count = form.querySelectorAll(".js-select-row:checked").length;
      form.querySelectorAll(".js-selected-count").forEach(function (n) { n.textContent = count; });
      form.querySelectorAll("[data-bulk]").forEach(function (b) { b.disabled = count === 0; });
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {  // dashboards: print, or save as PDF from the dialog
      event.preventDefault();
      window.print();
      return;
    }
    var button = event.target.closest("[data-bulk]");
    if (!button) { return; }
    event.preventDefault();
    var form = button.closest("form");
    var template = button.dataset.extra ? document.getElementById(button.dataset.extra) : null;
    var extra = template ? template.content.cloneNode(true) : null;
    var wrapper = null;
    if (extra) { wrapper = document.createElement("div"); wrapper.appendChild(extra); }
    confirmThen(button.dataset.confirm, wrapper, function (extraHolder) {
      form.querySelectorAll(".js-bulk-extra").forEach(function (n) { n.remove(); });
      extraHolder.querySelectorAll("input, select, textarea").forEach(function (input) {
        var hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = input.name; hidden.value = input.value;
        hidden.className = "js-bulk-extra";
        form.appendChild(hidden);
      });
      form.querySelector("input[name=bulk_action]").value = button.dataset.bulk;
      form.submit();
    });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !form.dataset.confirmed) {
      event.preventDefault();
      confirmThen(form.dataset.confirm, null, function () {
        form.dataset.confirmed = "1";
        form.submit();
      });
    }
  });

  // ECharts is loaded only when a chart is on screen (a page names it with data-chart-lib): the
  // phone layout hides the charts, so a phone never downloads it.
  var chartLibRequested = false;
  function loadChartLib() {
    var lib = document.querySelector("[data-chart-lib]");
    if (!lib || chartLibRequested) { return; }
    var shown = Array.prototype.some.call(document.querySelectorAll("[data-chart]"), function (el) {
      return el.getClientRects().length > 0;
    });
    if (!shown) { return; }
    chartLibRequested = true;
    var script = document.createElement("script");
    script.src = lib.dataset.chartLib;
    script.onload = function () { drawCharts(document); };
    document.body.appendChild(script);
  }
  window.addEventListener("resize", loadChartLib);

  function drawCharts(root) {
    if (typeof echarts === "undefined") { loadChartLib(); return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || el.dataset.drawn) { return; }
      var option = JSON.parse(source.textContent);
      var chart = echarts.init(el);
      chart.setOption(option);
      // a chart is a picture to a screen reader: named by its card's title (the figures are in the tables)
      el.setAttribute("role", "img");
      if (!el.hasAttribute("aria-label")) {
        var card = el.closest(".card");
        var title = card && card.querySelector(".card-header, h2, h3, h5");
        var text = (option.title && option.title.text) || (title && title.textContent.trim());
        if (text) { el.setAttribute("aria-label", text); }
      }
      el.dataset.drawn = "1";
      if (el.dataset.drill) {  // one URL pattern: "__value__" becomes the clicked category
        chart.on("click", function (params) {
          var url = el.dataset.drill.replace("__value__", encodeURIComponent(params.name));
          window.location.href = url;
        });
      } else if (el.dataset.drillUrls) {  // one URL per data index, from a json_script
        var urlSource = document.getElementById(el.dataset.drillUrls);
        var urls = urlSource ? (JSON.parse(urlSource.textContent) || []) : [];
        chart.on("click", function (params) {
          if (urls[params.dataIndex]) { window.location.href = urls[params.dataIndex]; }
        });
      } else if (el.hasAttribute("data-drill-items")) {  // each data item carries its own "drill" URL
        chart.on("click", function (params) {
          var item = params.data;
          if (item && typeof item === "object" && item.drill) { window.location.href = item.drill; }
        });
      }
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  // Field work: a form marked data-geo asks the browser for the position once the user agrees
  // (the consent box), and fills the hidden latitude/longitude/accuracy fields.
  function locate(form) {
    var status = form.querySelector("[data-geo-status]");
    var consent = form.querySelector("input[name=consent]");
    function set(name, value) { var input = form.querySelector("input[name=" + name + "]"); if (input) { input.value = value; } }
    function say(text) { if (status) { status.textContent = text; } }
    if (!consent || !consent.checked) { set("latitude", ""); set("longitude", ""); set("accuracy", ""); if (status) { say(status.dataset.off); } return; }
    if (!navigator.geolocation) { if (status) { say(status.dataset.failed); } return; }
    if (status) { say(status.dataset.waiting); }
    form.dataset.locating = "1";
    navigator.geolocation.getCurrentPosition(function (pos) {
      set("latitude", pos.coords.latitude.toFixed(6));
      set("longitude", pos.coords.longitude.toFixed(6));
      set("accuracy", Math.ceil(pos.coords.accuracy));
      // the evidence signals: how old the fix is, and whether the platform marks it as mocked
      set("signals", JSON.stringify({
        position_age_s: Math.max(0, Math.round((Date.now() - pos.timestamp) / 1000)),
        mocked: pos.coords.mocked === true || pos.mocked === true
      }));
      delete form.dataset.locating;
      if (status) { say(status.dataset.found.replace("{m}", Math.ceil(pos.coords.accuracy))); }
      status && status.setAttribute("data-located", "1");
    }, function () {
      delete form.dataset.locating;
      if (status) { say(status.dataset.failed); }
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 0});
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-geo]").forEach(locate);
  });
  document.addEventListener("change", function (event) {
    if (event.target.name === "consent" && event.target.form && event.target.form.hasAttribute("data-geo")) {
      locate(event.target.form);
    }
  });
  // Offline drafts: a field entry made without a connection is kept on the phone (localStorage),
  // listed as 待校验, and sent by itself once the connection returns; the server stores it as
  // unverified with the phone's time.
  var DRAFTS = "crm.field.drafts";
  function drafts() { try { return JSON.parse(localStorage.getItem(DRAFTS) || "[]"); } catch (e) { return []; } }
  function keepDrafts(list) { localStorage.setItem(DRAFTS, JSON.stringify(list)); showDrafts(); }
  function showDrafts(note) {
    document.querySelectorAll("[data-drafts]").forEach(function (box) {
      var list = drafts();
      box.textContent = "";
      box.hidden = !list.length && !note;
      list.forEach(function (draft) {
        var row = document.createElement("div");
        row.className = "list-group-item d-flex justify-content-between gap-2";
        row.setAttribute("data-draft", "");
        var label = document.createElement("span");
        label.textContent = draft.label + " · " + new Date(draft.client_time).toTimeString().slice(0, 5);
        var badge = document.createElement("span");
        badge.className = "badge text-bg-warning align-self-center";
        badge.textContent = box.dataset.pending;
        row.appendChild(label); row.appendChild(badge); box.appendChild(row);
      });
      if (note) {
        var alert = document.createElement("div");
        alert.className = "list-group-item text-danger"; alert.setAttribute("role", "alert");
        alert.textContent = note; box.appendChild(alert);
      }
    });
  }
  function saveDraft(form) {
    if (form.dataset.locating) { setTimeout(function () { saveDraft(form); }, 200); return; }
    var fields = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrfmiddlewaretoken" && typeof value === "string") { fields.push([name, value]); }
    });
    var list = drafts();
    list.push({url: form.getAttribute("action") || window.location.pathname + window.location.search,
               label: form.dataset.draftLabel || document.title, fields: fields, client_time: new Date().toISOString()});
    keepDrafts(list);
  }
  var sending = false;
  function sendDrafts() {
    if (sending || navigator.onLine === false || !drafts().length) { return; }
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (!match) { return; }
    sending = true;
    var sent = 0, refused = [];
    function next() {
      var list = drafts();
      if (!list.length) {
        sending = false;
        showDrafts(refused.join(" "));
        if (sent && !refused.length) { window.location.reload(); }
        return;
      }
      var draft = list[0], body = new FormData();
      draft.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
      body.append("client_time", draft.client_time);
      fetch(draft.url, {method: "POST", body: body, credentials: "same-origin",
                        headers: {"X-Field-Draft": "1", "X-CSRFToken": decodeURIComponent(match[1])}})
        .then(function (response) {
          if (response.ok) { sent += 1; keepDrafts(drafts().slice(1)); return next(); }
          if (response.status === 400) {
            return response.json().then(function (answer) {
              refused.push(draft.label + ": " + (answer.errors || []).join(" "));
              keepDrafts(drafts().slice(1)); next();
            });
          }
          sending = false;  // signed out or the server is down: keep the draft for later
        }, function () { sending = false; });
    }
    next();
  }
  document.addEventListener("DOMContentLoaded", function () { showDrafts(); sendDrafts(); });
  window.addEventListener("online", sendDrafts);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-offline-draft") && navigator.onLine === false) {
      event.preventDefault();
      saveDraft(form);
      return;
    }
    if (form.hasAttribute("data-geo") && form.dataset.locating) {  // wait (a few seconds at most) for the position
      event.preventDefault();
      var waited = 0;
      var timer = setInterval(function () {
        waited += 200;
        if (!form.dataset.locating || waited > 8000) { clearInterval(timer); delete form.dataset.locating; form.submit(); }
      }, 200);
    }
  });

  // 复制微信号: copy an input's value (the clipboard API where there is one, else the selection).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var input = document.querySelector(button.dataset.copy);
    if (!input) { return; }
    function done() { button.textContent = button.dataset.copied; }
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // 打电话: after the dialler opens, bring the "log the call" form into view.
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-call]")) { return; }
    var log = document.querySelector("[data-call-log]");
    if (!log) { return; }
    setTimeout(function () {
      log.classList.add("border-primary");
      log.scrollIntoView({block: "start"});
      var first = log.querySelector("textarea, select");
      if (first) { first.focus({preventScroll: true}); }
    }, 600);
  });

  // After a failed submit: focus goes to the form's error summary; each error links to its field.
  function focusErrorSummary(root) {
    var summary = root.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) { return; }
    event.preventDefault();
    field.scrollIntoView({block: "center"});
    field.focus({preventScroll: true});
  });

  // A box that scrolls (a wide or tall table, a board) is reachable by keyboard: a named region in
  // the Tab order, so the arrow keys scroll it. Only boxes that do scroll at this width get a stop.
  function reachableScrollBoxes(root) {
    root.querySelectorAll(".table-responsive, main .overflow-auto, main .overflow-x-auto").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
      if (box.hasAttribute("tabindex") || !scrolls) { return; }
      box.setAttribute("tabindex", "0");
      if (!box.hasAttribute("role")) { box.setAttribute("role", "region"); }
      if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
        var card = box.closest(".card, section");
        var heading = card && card.querySelector(".card-header, h2, h3, h4, h5, caption");
        var caption = box.querySelector("caption");
        var text = (caption || heading || document.querySelector("main h1") || document.querySelector("h1"));
        box.setAttribute("aria-label", text ? text.textContent.trim().replace(/\s+/g, " ") : document.title);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    reachableScrollBoxes(document);
    focusErrorSummary(document);
  });
  // a table may grow wider once the fonts and the charts are in
  window.addEventListener("load", function () { reachableScrollBoxes(document); });
  document.body.addEventListener("htmx:afterSwap", function (e) {
    drawCharts(e.target);
    reachableScrollBoxes(e.target);
    focusErrorSummary(e.target);
  });
})();
