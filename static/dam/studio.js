// The Studio's live preview: fetch the chain's delivery URL first, so that a bad step
// shows the server's message (X-Cld-Error or the JSON error) instead of a broken image.
// A 423 (e_background_removal, or a generative step such as b_gen_fill, still being computed
// by a worker) shows "Removing background…" (or the box's data-pending-text) and asks again
// after Retry-After until the image is there.
// Without JavaScript the <img> loads directly and the server has validated the chain.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var PENDING_FOR = 15 * 60 * 1000;  // stop asking after this long (a stuck worker)

  function show(box, message) {
    var img = box.querySelector("#preview");
    var error = box.querySelector("#preview-error");
    var status = box.querySelector("#preview-status");
    if (img) img.hidden = true;
    if (status) status.textContent = "";
    box.classList.remove("pending");
    error.textContent = message;
    error.hidden = false;
  }

  function current(img, src) {
    return img.isConnected && img.dataset.src === src;
  }

  function attempt(box, img, src, started) {
    var status = box.querySelector("#preview-status");
    fetch(src, { credentials: "same-origin" }).then(function (response) {
      if (!current(img, src)) return;  // replaced meanwhile
      if (response.status === 423) {
        var wait = Math.min(Math.max(parseInt(response.headers.get("Retry-After"), 10) || 3, 1), 30);
        if (Date.now() - started > PENDING_FOR) {
          show(box, (box.dataset.pendingLabel || "Background removal") + " is taking too long: is the worker running? Reload the page to try again.");
          return;
        }
        box.classList.add("pending");
        if (status) status.textContent = (box.dataset.pendingText || "Removing background…") + " (the AI model runs once per image; this preview updates by itself)";
        setTimeout(function () { if (current(img, src)) attempt(box, img, src, started); }, wait * 1000);
        return;
      }
      box.classList.remove("pending");
      if (response.ok) {
        var done = function () {
          if (!current(img, src)) return;
          img.setAttribute("data-ok", "");
          if (status) status.textContent = img.naturalWidth + " × " + img.naturalHeight + " px";
        };
        if (img.complete && img.naturalWidth && img.getAttribute("src") === src) done();
        else {
          img.addEventListener("load", done, { once: true });
          img.src = src;  // again even when unchanged: a first try may have met the 423
        }
        return;
      }
      var header = response.headers.get("X-Cld-Error");
      return response.text().then(function (body) {
        var message = header;
        try { message = JSON.parse(body).error.message || header; } catch (err) { /* not JSON */ }
        show(box, message || ("The preview failed (HTTP " + response.status + ")"));
      });
    }, function () {
      if (current(img, src)) show(box, "The preview could not be loaded (network error).");
    });
  }

  function load() {
    var box = document.getElementById("preview-box");
    var img = box && box.querySelector("#preview");
    if (!img || img.dataset.checked === img.dataset.src) return;
    var src = img.dataset.src;
    img.dataset.checked = src;
    img.removeAttribute("data-ok");
    var status = box.querySelector("#preview-status");
    if (status) status.textContent = "Rendering…";
    attempt(box, img, src, Date.now());
  }

  document.addEventListener("DOMContentLoaded", load);
  document.addEventListener("htmx:afterSettle", load);
  if (document.readyState !== "loading") load();
})();

// The code snippets as tabs (URL / Python / Node / cURL): app.js's damCodeTabs, as on the
// Generate screen.
window.damCodeTabs("code-tabs");
