// The calendar page on wider screens: FullCalendar (static/vendor/fullcalendar) reads the items
// from data-items-url and moves a reminder or task when it is dropped on another day or time.
// Phones keep the server-rendered day list.
(function () {
  "use strict";
  var el = document.getElementById("calendar-grid");
  if (!el || typeof FullCalendar === "undefined" || window.matchMedia("(max-width: 575.98px)").matches) return;
  var csrf = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  var calendar = new FullCalendar.Calendar(el, {
    locale: el.dataset.locale || "zh-cn",
    timeZone: "local",
    initialView: el.dataset.view === "day" ? "timeGridDay" : el.dataset.view === "month" ? "dayGridMonth" : "timeGridWeek",
    initialDate: el.dataset.date,
    headerToolbar: { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,timeGridDay" },
    height: "auto",
    // the week and day grids start at 07:00, or at the hour of an earlier item in view (a reminder
    // at 05:00 is on the grid, not hidden above it)
    slotMinTime: "07:00:00",
    slotMaxTime: "23:59:59",
    eventsSet: function (events) {
      var earliest = 7;
      events.forEach(function (event) {
        if (!event.allDay && event.start) earliest = Math.min(earliest, event.start.getHours());
      });
      var wanted = (earliest < 10 ? "0" : "") + earliest + ":00:00";
      if (calendar && calendar.getOption("slotMinTime") !== wanted) calendar.setOption("slotMinTime", wanted);
    },
    nowIndicator: true,
    events: { url: el.dataset.itemsUrl, extraParams: { team: el.dataset.team || "" } },
    eventDrop: function (info) {
      var body = new URLSearchParams();
      body.set("key", info.event.id);
      body.set("start", info.event.start.toISOString());
      fetch(el.dataset.moveUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrf, "X-Requested-With": "fetch" },
        body: body,
        credentials: "same-origin",
      }).then(function (response) {
        if (!response.ok) {
          info.revert();
          return;
        }
        el.dispatchEvent(new CustomEvent("calendar:moved", { detail: { key: info.event.id } }));
        el.dataset.moved = info.event.id;
      }, function () { info.revert(); });
    },
  });
  calendar.render();
  // the prev/next arrows are drawn as role="img" without a name; their buttons carry the name
  // (title and aria-label), so the arrows are decoration for assistive technology
  el.querySelectorAll(".fc-icon").forEach(function (icon) {
    icon.removeAttribute("role");
    icon.setAttribute("aria-hidden", "true");
  });
  el.dataset.ready = "1";
})();
