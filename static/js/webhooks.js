// The webhook builder's small behaviours (no build step): copy buttons, the repeatable rows of
// the editors (actions, field mappings, headers), the action type's and scheme's sections, the
// placeholder helper (insert at the cursor, then the preview refreshes), validation answers
// (400/403/409) shown in place by htmx, and the live "webhook disabled" announcement.
(function () {
  "use strict";
  function announce(text) {
    var region = document.getElementById("live-region");
    if (region) { region.textContent = ""; setTimeout(function () { region.textContent = text; }, 50); }
  }
  function nextActionIndex() {
    var max = -1;
    document.querySelectorAll("[data-action-index]").forEach(function (el) {
      var n = parseInt(el.getAttribute("data-action-index"), 10);
      if (!isNaN(n) && n > max) max = n;
    });
    return max + 1;
  }
  function fromTemplate(id, index) {
    var template = document.getElementById(id);
    var html = template.innerHTML.split("__i__").join(String(index));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }
  function showActionSections(fieldset) {
    var type = fieldset.querySelector("[data-action-type]").value;
    fieldset.querySelectorAll("[data-action-types]").forEach(function (section) {
      section.hidden = section.getAttribute("data-action-types").split(" ").indexOf(type) < 0;
    });
  }
  document.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) return;
    if (target.hasAttribute("data-copy-target")) {
      var field = document.getElementById(target.getAttribute("data-copy-target"));
      field.select();
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).catch(function () { document.execCommand("copy"); });
      else document.execCommand("copy");
      announce(text("copied"));
    } else if (target.hasAttribute("data-add-action")) {
      var action = fromTemplate("action-template", nextActionIndex());
      document.getElementById("actions").appendChild(action);
      showActionSections(action);
      action.querySelector("select").focus();
    } else if (target.hasAttribute("data-add-mapping")) {
      var fieldset = target.closest("[data-action-index]");
      var row = fromTemplate("mapping-row-template", fieldset.getAttribute("data-action-index"));
      var type = fieldset.querySelector("[data-entity-type]").value;
      row.querySelector("input[list]").setAttribute("list", "fields-" + type);
      fieldset.querySelector(".mapping-rows").appendChild(row);
      row.querySelector("input").focus();
    } else if (target.hasAttribute("data-add-row")) {
      var names = target.getAttribute("data-names").split(" ");
      var pair = fromTemplate(target.getAttribute("data-add-row"), 0);
      pair.querySelector("[data-pair=name]").name = names[0];
      pair.querySelector("[data-pair=value]").name = names[1];
      target.parentElement.querySelector(".pair-rows").appendChild(pair);
      pair.querySelector("input").focus();
    } else if (target.hasAttribute("data-remove-row")) {
      target.closest(".row").remove();
    } else if (target.hasAttribute("data-remove-action")) {
      target.closest("[data-action-index]").remove();
    } else if (target.hasAttribute("data-insert-placeholder")) {
      var area = document.getElementById("payload_template");
      if (!area || area.disabled) return;
      var text = "{{" + target.getAttribute("data-insert-placeholder") + "}}";
      var start = area.selectionStart, end = area.selectionEnd;
      area.focus();
      area.setRangeText(text, start, end, "end");
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute("data-action-type")) showActionSections(el.closest("[data-action-index]"));
    if (el.hasAttribute("data-entity-type")) {
      el.closest("[data-action-index]").querySelectorAll(".mapping-rows input[list]").forEach(function (input) {
        input.setAttribute("list", "fields-" + el.value);
      });
    }
    if (el.hasAttribute("data-scheme-select")) {
      document.querySelectorAll("[data-scheme]").forEach(function (p) { p.hidden = p.getAttribute("data-scheme") !== el.value; });
    }
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
  // Validation answers carry their message: show them where the result goes.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400 || status === 403 || status === 409) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });
  function text(name) {
    var holder = document.getElementById("webhook-texts");
    return (holder && holder.getAttribute("data-" + name)) || "";
  }
  // An element showing one webhook refreshes when an event about that webhook arrives:
  // data-live-webhook="<id>" data-live-events="webhook.received …" → htmx "hub-refresh".
  document.body.addEventListener("hub", function (event) {
    var message = event.detail || {};
    var data = message.data || {};
    document.querySelectorAll("[data-live-webhook]").forEach(function (el) {
      var wanted = (el.getAttribute("data-live-events") || "").split(" ");
      if (el.getAttribute("data-live-webhook") === data.webhookId && wanted.indexOf(message.type) >= 0 && window.htmx) {
        window.htmx.trigger(el, "hub-refresh");
      }
    });
  });
  // live.js dispatches on document.body (its events do not bubble).
  document.body.addEventListener("hub:webhook-disabled", function (event) {
    var data = (event.detail && event.detail.data) || {};
    announce(text("disabled") + " " + (data.webhookName || ""));
  });
  function ready() {
    var state = document.querySelector("[data-replace-url]");
    if (state && window.history.replaceState) window.history.replaceState(null, "", state.getAttribute("data-replace-url"));
    document.querySelectorAll("[data-action-index]").forEach(function (fs) { if (fs.querySelector("[data-action-type]")) showActionSections(fs); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready); else ready();
})();
