// The integrations page (/integrations): the cards' small behaviours.
// - Live: an integration event from /ws/events (live.js dispatches it on document.body as
//   "hub") that names a provider with a card here asks htmx for that card again ("hub-refresh").
// - The connect form opens and closes in place (aria-expanded), the disconnect confirmation is a
//   native <dialog> (modal, Escape closes it, focus kept inside).
// - A card answered with an error status (400 / 409 / 502: the form with the provider's error
//   in words) is swapped like a success; after a swap the result is announced in #live-region
//   and, after a click here, focus goes to the field to fix or to the card's first action.
(function () {
  "use strict";
  var body = document.body;

  function card(provider) { return document.getElementById("provider-" + provider); }

  // The events that change what a card shows (not sync_progress: a run sends many).
  var REFRESH_ON = ["integration.connected", "integration.disconnected", "integration.sync_started",
    "integration.sync_completed", "integration.sync_failed", "integration.token_expiring"];

  body.addEventListener("hub", function (event) {
    var message = event.detail || {};
    var data = message.data || {};
    if (REFRESH_ON.indexOf(message.type) < 0) return;
    var target = data.provider && card(data.provider);
    if (!target || !window.htmx) return;
    // Someone typing in this card's form or answering its dialog keeps it; their own answer
    // brings the card up to date.
    var active = document.activeElement;
    if (target.querySelector("dialog[open]") || (active && target.contains(active) && active.closest("form"))) return;
    window.htmx.trigger(target, "hub-refresh");
  });

  body.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-toggle-form]");
    if (toggle) {
      var form = document.getElementById(toggle.dataset.toggleForm);
      if (!form) return;
      var opening = form.hidden;
      form.hidden = !opening;
      var opener = document.querySelector('[aria-controls="' + form.id + '"]');
      if (opener) opener.setAttribute("aria-expanded", opening ? "true" : "false");
      if (opening) { var first = form.querySelector("input:not([type=hidden])"); if (first) first.focus(); }
      else if (opener) opener.focus();
      return;
    }
    var open = event.target.closest("[data-open-dialog]");
    if (open) {
      var dialog = document.getElementById(open.dataset.openDialog);
      if (dialog && dialog.showModal) dialog.showModal();
      return;
    }
    var close = event.target.closest("[data-close-dialog]");
    if (close) { var box = close.closest("dialog"); if (box) box.close(); }
  });

  // A card's status before a swap: a live refresh that leaves it as it was announces nothing
  // (after the studio's own connect, the event's refresh would talk over "connected to X").
  var shownBefore = {};

  body.addEventListener("htmx:beforeSwap", function (event) {
    var before = event.detail.target;
    if (before && before.id && before.id.indexOf("provider-") === 0) {
      var oldBadge = before.querySelector(".status");
      shownBefore[before.id] = oldBadge ? oldBadge.textContent.trim() : null;
    }
    var status = event.detail.xhr.status;
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if ((status === 400 || status === 409 || status === 502) && elt && elt.closest && elt.closest(".provider-card")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  body.addEventListener("htmx:afterSwap", function (event) {
    var swapped = event.detail.target;
    if (!swapped || !swapped.id || swapped.id.indexOf("provider-") !== 0) return;
    var fresh = document.getElementById(swapped.id);
    if (!fresh) return;
    var region = document.getElementById("live-region");
    var verb = event.detail.requestConfig && event.detail.requestConfig.verb;
    var badge = fresh.querySelector(".status");
    var unchanged = verb !== "post" && badge && shownBefore[swapped.id] === badge.textContent.trim();
    var announce = fresh.dataset.announce;
    if (!announce) {
      var name = fresh.querySelector("h3");
      if (badge && name) announce = name.textContent.trim() + ": " + badge.textContent.trim();
    }
    if (region && announce && !unchanged) region.textContent = announce;
    if (verb !== "post") return;  // a live refresh does not move focus
    var focus = fresh.querySelector("[aria-invalid=true]") ||
      fresh.querySelector(".connect-form:not([hidden]) input[type=password]") ||
      fresh.querySelector(".provider-actions .button, .provider-actions button");
    if (focus) focus.focus();
  });
})();
