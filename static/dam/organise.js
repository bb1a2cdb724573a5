// The Library's drag-move: drag a tile (or, when it is selected, every selected tile) onto a
// folder of the sidebar to move the assets there. Tiles are made draggable here (and again
// after htmx swaps the results); the drop POSTs to the move endpoint (studio.views_organise.move)
// with the page's CSRF token, then the page reloads and shows the server's message.
// Keyboard and no-JS alternative: select tiles, then the bulk bar's "Move to folder".
(function () {
  "use strict";
  var aside = document.querySelector("aside.folders[data-move-url]");
  if (!aside) return;
  var TYPE = "application/x-dam-assets";
  var dragged = null;  // asset ids being dragged

  function markTiles() {
    document.querySelectorAll("#results li.tile[data-asset-id]").forEach(function (tile) {
      tile.draggable = true;
    });
  }
  markTiles();
  document.body.addEventListener("htmx:afterSettle", markTiles);

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function status(text) {
    var region = document.getElementById("selected-count");
    if (region) region.textContent = text;
  }

  document.addEventListener("dragstart", function (event) {
    var tile = event.target.closest && event.target.closest("#results li.tile[data-asset-id]");
    if (!tile) return;
    var own = tile.querySelector("input[name=ids]");
    var ids = [tile.getAttribute("data-asset-id")];
    if (own && own.checked) {
      ids = Array.prototype.map.call(document.querySelectorAll("#results li.tile input[name=ids]:checked"),
        function (box) { return box.value; });
    }
    dragged = ids;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData(TYPE, ids.join(","));
    event.dataTransfer.setData("text/plain", ids.length + (ids.length === 1 ? " asset" : " assets"));
    aside.classList.add("dragging");
  });

  document.addEventListener("dragend", function () {
    dragged = null;
    aside.classList.remove("dragging");
    aside.querySelectorAll(".drop-over").forEach(function (el) { el.classList.remove("drop-over"); });
  });

  function target(event) {
    return event.target.closest && event.target.closest("aside.folders a[data-folder]");
  }

  function accepts(event) {
    return dragged || Array.prototype.indexOf.call(event.dataTransfer.types, TYPE) >= 0;
  }

  aside.addEventListener("dragover", function (event) {
    var link = target(event);
    if (!link || !accepts(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
  });
  aside.addEventListener("dragenter", function (event) {
    var link = target(event);
    if (!link || !accepts(event)) return;
    event.preventDefault();
    link.classList.add("drop-over");
  });
  aside.addEventListener("dragleave", function (event) {
    var link = target(event);
    if (link && !link.contains(event.relatedTarget)) link.classList.remove("drop-over");
  });

  aside.addEventListener("drop", function (event) {
    var link = target(event);
    if (!link) return;
    event.preventDefault();
    link.classList.remove("drop-over");
    var ids = (event.dataTransfer.getData(TYPE) || (dragged || []).join(",")).split(",").filter(Boolean);
    if (!ids.length) return;
    var folder = link.getAttribute("data-folder");
    var data = new FormData();
    ids.forEach(function (id) { data.append("ids", id); });
    data.append("folder", folder);
    data.append("next", aside.getAttribute("data-here") || location.pathname);
    status("Moving " + ids.length + (ids.length === 1 ? " asset" : " assets") + " to " + (folder || "the root folder") + "…");
    fetch(aside.getAttribute("data-move-url"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": csrfToken()}
    }).then(function () {
      location.reload();  // the grid, the counts and the server's message
    }, function () {
      status("The move failed: the server could not be reached.");
    });
  });
})();
