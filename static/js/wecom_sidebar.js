// The WeCom chat sidebar: sign the page into WeCom's JS-SDK (loaded only when WECOM_JSSDK_URL is
// set; wx.config with the corp's ticket, then wx.agentConfig with the app's, both signed by the
// server for this URL), ask for the external contact of the current chat and reload the page with
// it; the server does the rest.
(function () {
  var root = document.getElementById("wecom-sidebar");
  var source = document.getElementById("wecom-jssdk-config");
  if (!root || !source || !window.wx || typeof window.wx.config !== "function") return;
  var config = JSON.parse(source.textContent);
  function ask() {
    window.wx.invoke("getCurExternalContact", {}, function (res) {
      if (res && res.err_msg === "getCurExternalContact:ok" && res.userId) {
        window.location.href = root.dataset.sidebarUrl + "?external_userid=" + encodeURIComponent(res.userId);
      }
    });
  }
  window.wx.config({beta: true, debug: false, appId: config.corpid, timestamp: config.timestamp,
                    nonceStr: config.nonceStr, signature: config.signature, jsApiList: []});
  window.wx.ready(function () {
    window.wx.agentConfig({corpid: config.corpid, agentid: config.agentid, timestamp: config.timestamp,
                           nonceStr: config.nonceStr, signature: config.agentSignature,
                           jsApiList: ["getCurExternalContact"], success: ask});
  });
})();
