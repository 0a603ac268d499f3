// The integration settings page's live sync progress (issue 14): live.js dispatches each
// /ws/events message on document.body as "hub:<type, dots as dashes>"; the run's box
// (#run-progress, filled by the "Sync now" / "Retry" answers) follows this integration's
// sync_started / sync_progress / sync_completed / sync_failed events. Its texts come
// translated from data-text-* attributes of #settings-page; a failed run's error from
// /integrations/<id>/run-text (the event's own error is English, whoever reads it).
(function () {
  "use strict";
  function page() { return document.getElementById("settings-page"); }
  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key] == null ? "" : String(values[key]); });
  }
  function box() {
    var run = document.getElementById("run-progress");
    if (run) return run;
    var holder = document.getElementById("sync-run");
    if (!holder) return null;
    holder.innerHTML = '<div class="run" id="run-progress" role="status"><label for="run-bar"></label>' +
      '<progress id="run-bar" max="100"></progress> <span class="run-text"></span></div>';
    holder.querySelector("label").textContent = page().dataset.textLabel || "";
    return document.getElementById("run-progress");
  }
  function mine(event) {
    var root = page();
    return root && event.detail && event.detail.data && event.detail.data.integrationId === root.dataset.integration;
  }
  function show(state, text, done, total, logId) {
    var run = box();
    if (!run) return;
    run.dataset.state = state;
    if (logId) run.dataset.logId = logId;
    var bar = run.querySelector("progress");
    if (total) { bar.max = total; bar.value = Math.min(done, total); }
    else if (state === "done" || state === "failed") { bar.max = 1; bar.value = 1; }
    else if (done) { bar.removeAttribute("value"); }
    run.querySelector(".run-text").textContent = text;
    var region = document.getElementById("live-region");
    if (region && (state === "done" || state === "failed")) region.textContent = text;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var body = document.body;
    // A run can end before the "Sync now" answer is swapped in (its events travel on the
    // socket): keep the finished box rather than putting "started" back over it.
    body.addEventListener("htmx:beforeSwap", function (event) {
      var run = document.getElementById("run-progress");
      if (!run || event.detail.target.id !== "sync-run" || !run.dataset.logId) return;
      if ((run.dataset.state === "done" || run.dataset.state === "failed") &&
          event.detail.xhr.responseText.indexOf(run.dataset.logId) !== -1) event.detail.shouldSwap = false;
    });
    body.addEventListener("hub:integration-sync_started", function (event) {
      if (!mine(event)) return;
      show("started", page().dataset.textStarted, 0, 0, event.detail.data.logId);
    });
    body.addEventListener("hub:integration-sync_progress", function (event) {
      if (!mine(event)) return;
      var data = event.detail.data, root = page();
      var run = box();
      if (run) run.dataset.progressEvents = String(Number(run.dataset.progressEvents || 0) + 1);
      var text = data.total ? format(root.dataset.textProgress, data) : format(root.dataset.textProgressOpen, data);
      show("running", text, data.done || 0, data.total || 0, data.logId);
    });
    body.addEventListener("hub:integration-sync_completed", function (event) {
      if (!mine(event)) return;
      var data = event.detail.data, root = page(), summary = data.summary || {};
      show("done", root.dataset.textDone + ": " + format(root.dataset.textSummary, summary), 1, 0, data.logId);
    });
    body.addEventListener("hub:integration-sync_failed", function (event) {
      if (!mine(event)) return;
      var data = event.detail.data, root = page();
      show("failed", root.dataset.textFailed, 1, 0, data.logId);
      // The event's "error" is the English text (the seed's payload, the same for every reader):
      // the run's line comes from the server, said in this page's language.
      var run = box();
      if (!run || !data.logId || !window.htmx) return;
      var text = run.querySelector(".run-text");
      window.htmx.ajax("GET", "/integrations/" + root.dataset.integration + "/run-text?log=" + encodeURIComponent(data.logId),
        {source: run, target: text, swap: "innerHTML"}).then(function () {
          var region = document.getElementById("live-region");
          if (region && run.dataset.logId === data.logId) region.textContent = text.textContent;
        });
    });
  });
})();
