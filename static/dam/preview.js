// The Library's preview dialog. A tile's thumbnail opens the asset's preview (the server-rendered
// partial of /assets/<id>/preview/) in a modal <dialog> over the grid; the buttons and the arrow keys
// walk the current page's tiles, Escape (or the close button, or a click outside) closes it and focus
// goes back to the tile of the asset shown last. Without JavaScript the thumbnail links to the asset page.
(function () {
  "use strict";
  var dialog = document.getElementById("preview-dialog");
  if (!dialog) return;
  var content = document.getElementById("preview-content");
  var current = null;  // the .thumb link of the asset shown
  var request = 0;  // answers to an older request are dropped

  function thumbs() {
    return Array.prototype.slice.call(document.querySelectorAll("#results .thumb[data-preview]"));
  }

  function failed(link, reason) {
    var p = document.createElement("p");
    p.className = "msg error";
    p.setAttribute("role", "alert");
    p.textContent = "The preview could not be loaded (" + reason + "). ";
    var a = document.createElement("a");
    a.href = link.href;
    a.textContent = "Open the asset page";
    p.append(a);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "secondary small";
    close.setAttribute("data-preview-close", "");
    close.textContent = "Close";
    content.replaceChildren(p, close);
    close.focus();
  }

  function show(link, focusSelector) {
    current = link;
    var mine = ++request;
    dialog.setAttribute("aria-busy", "true");
    if (!dialog.open) dialog.showModal();
    fetch(link.getAttribute("data-preview"), { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        if (mine !== request) return;
        content.innerHTML = html;
        dialog.removeAttribute("aria-busy");
        var list = thumbs(), i = list.indexOf(link);
        content.querySelector('[data-preview-step="-1"]').disabled = i <= 0;
        content.querySelector('[data-preview-step="1"]').disabled = i < 0 || i >= list.length - 1;
        var target = focusSelector && content.querySelector(focusSelector);
        if (!target || target.disabled) target = content.querySelector("[data-preview-close]");
        target.focus();
      })
      .catch(function (err) {
        if (mine === request) failed(link, err.message);
      });
  }

  function step(delta) {
    var list = thumbs(), next = list[list.indexOf(current) + delta];
    if (next) show(next, '[data-preview-step="' + delta + '"]');
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("#results .thumb[data-preview]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    show(link);
  });
  dialog.addEventListener("click", function (event) {
    var button = event.target.closest("[data-preview-step]");
    if (button) step(parseInt(button.getAttribute("data-preview-step"), 10));
    else if (event.target.closest("[data-preview-close]") || event.target === dialog) dialog.close();
  });
  document.addEventListener("keydown", function (event) {
    if (!dialog.open || event.target.closest("input, select, textarea")) return;
    if (event.key === "ArrowRight") { event.preventDefault(); step(1); }
    if (event.key === "ArrowLeft") { event.preventDefault(); step(-1); }
  });
  dialog.addEventListener("close", function () {
    request += 1;
    if (current && document.contains(current)) current.focus();
  });
})();
