// The Studio's live preview: fetch the chain's delivery URL first, so that a bad step
// shows the server's message (X-Cld-Error or the JSON error) instead of a broken image.
// Without JavaScript the <img> loads directly and the server has validated the chain.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function show(box, message) {
    var img = box.querySelector("#preview");
    var error = box.querySelector("#preview-error");
    var status = box.querySelector("#preview-status");
    if (img) img.hidden = true;
    if (status) status.textContent = "";
    error.textContent = message;
    error.hidden = false;
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
    fetch(src, { credentials: "same-origin" }).then(function (response) {
      if (img.dataset.src !== src) return;  // replaced meanwhile
      if (response.ok) {
        var done = function () {
          img.setAttribute("data-ok", "");
          if (status) status.textContent = img.naturalWidth + " × " + img.naturalHeight + " px";
        };
        if (img.complete && img.naturalWidth) done();
        else {
          img.addEventListener("load", done, { once: true });
          if (img.getAttribute("src") !== src) img.src = src;
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
      show(box, "The preview could not be loaded (network error).");
    });
  }

  document.addEventListener("DOMContentLoaded", load);
  document.addEventListener("htmx:afterSettle", load);
  if (document.readyState !== "loading") load();
})();
