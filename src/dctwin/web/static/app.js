/* Dashboard behaviour: poll a job's progress and open its results when it finishes. */
(function () {
  "use strict";
  function fmt(seconds) {
    if (seconds === null || seconds === undefined) { return "estimating"; }
    var s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)), ss = String(r).padStart(2, "0");
    return (h ? h + ":" : "") + mm + ":" + ss + " left";
  }
  function poll(el) {
    var id = el.getAttribute("data-job-id");
    var bar = document.getElementById("bar"), status = document.getElementById("status");
    fetch("/api/jobs/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        var pct = Math.round((j.fraction || 0) * 100);
        bar.style.width = pct + "%";
        bar.parentNode.setAttribute("aria-valuenow", String(pct));
        if (j.state === "done") {
          status.textContent = "done in " + j.elapsed_s + " s";
          document.getElementById("done-link").hidden = false;
          window.location.assign("/runs/" + encodeURIComponent(j.run));
          return;
        }
        if (j.state === "failed") {
          status.textContent = "failed";
          var err = document.getElementById("job-error");
          err.textContent = j.error;
          err.hidden = false;
          return;
        }
        status.textContent = j.state === "queued" ? "waiting for an earlier run to finish"
          : j.stage + ": " + pct + "% · " + j.elapsed_s + " s elapsed · " + fmt(j.eta_s);
        window.setTimeout(function () { poll(el); }, 500);
      })
      .catch(function () { window.setTimeout(function () { poll(el); }, 1500); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("job");
    if (el) { poll(el); }
  });
})();
