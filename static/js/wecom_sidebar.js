// The WeCom chat sidebar: ask WeCom's JS-SDK (loaded only when WECOM_JSSDK_URL is set) for the
// external contact of the current chat and reload the page with it; the server does the rest.
(function () {
  var root = document.getElementById("wecom-sidebar");
  if (!root || !window.wx || typeof window.wx.invoke !== "function") return;
  window.wx.invoke("getCurExternalContact", {}, function (res) {
    if (res && res.err_msg === "getCurExternalContact:ok" && res.userId) {
      window.location.href = root.dataset.sidebarUrl + "?external_userid=" + encodeURIComponent(res.userId);
    }
  });
})();
