// Live updates for every studio page: one WebSocket to /ws/events (the session cookie
// authenticates it), each message {type, data, ...} re-dispatched on document.body as
// CustomEvent("hub", {detail}) and CustomEvent("hub:" + type.replaceAll(".", "-"), {detail}),
// so an element can refresh itself with hx-trigger="hub:sync-progress from:body".
// Reconnects with backoff (1 s doubling to 30 s). Filled out by the pages work (issue 14).
(function () {
  "use strict";
  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/events");
    socket.onopen = function () { delay = 1000; document.body.dataset.live = "open"; };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (!event || typeof event.type !== "string") return;
      document.body.dispatchEvent(new CustomEvent("hub", { detail: event }));
      document.body.dispatchEvent(new CustomEvent("hub:" + event.type.split(".").join("-"), { detail: event }));
    };
    socket.onclose = function () {
      document.body.dataset.live = "closed";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", connect); else connect();
})();
