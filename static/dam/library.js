// The Media Library grid: keyboard navigation of the tiles (a roving tabindex: one tile in the tab
// order; arrows move by the rendered columns, Home/End, Space selects, Enter opens the preview through
// preview.js), the bulk bar shown only while something is selected (with Clear selection), and the tile
// size switched in place (remembered in the dam_density cookie the server reads too). Without
// JavaScript every tile is in the tab order, the bulk bar stays visible and the size links reload.
(function () {
  "use strict";
  var results = document.getElementById("results");
  if (!results) return;
  // on a narrow screen the folder tree starts folded above the grid, so images come first
  var folderBox = document.querySelector(".folders .folder-box");
  var narrow = window.matchMedia("(max-width: 900px)");
  function fold() { if (folderBox) folderBox.open = !narrow.matches; }
  fold();
  narrow.addEventListener("change", fold);
  var bulk = document.getElementById("bulk");
  var active = null;  // the .thumb link in the tab order

  function thumbs() {
    return Array.prototype.slice.call(results.querySelectorAll("[data-nav-grid] .thumb"));
  }

  function columns(list) {
    if (!list.length) return 1;
    var top = list[0].getBoundingClientRect().top, n = 0;
    for (var i = 0; i < list.length; i++) {
      if (Math.abs(list[i].getBoundingClientRect().top - top) > 4) break;
      n += 1;
    }
    return Math.max(n, 1);
  }

  // only the active tile's controls are reachable with Tab
  function activate(link) {
    var list = thumbs();
    if (!list.length) { active = null; return; }
    if (list.indexOf(link) < 0) link = list[0];
    active = link;
    list.forEach(function (thumb) {
      var tile = thumb.closest(".tile"), mine = thumb === link;
      tile.querySelectorAll("a, input").forEach(function (control) {
        if (mine) control.removeAttribute("tabindex");
        else control.setAttribute("tabindex", "-1");
      });
    });
  }

  results.addEventListener("focusin", function (event) {
    var tile = event.target.closest(".tile");
    if (tile && (!active || !tile.contains(active))) activate(tile.querySelector(".thumb"));
  });

  results.addEventListener("keydown", function (event) {
    var link = event.target.closest && event.target.closest("[data-nav-grid] .thumb");
    if (!link || event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) return;
    var list = thumbs(), i = list.indexOf(link), cols = columns(list), to = null;
    switch (event.key) {
      case "ArrowRight": to = i + 1; break;
      case "ArrowLeft": to = i - 1; break;
      case "ArrowDown": to = i + cols; break;
      case "ArrowUp": to = i - cols; break;
      case "Home": to = 0; break;
      case "End": to = list.length - 1; break;
      case " ":
        event.preventDefault();
        var box = link.closest(".tile").querySelector('input[name="ids"]');
        if (box) {
          box.checked = !box.checked;
          box.dispatchEvent(new Event("change", { bubbles: true }));
        }
        return;
      default: return;
    }
    event.preventDefault();
    if (to < 0 || to >= list.length) return;
    activate(list[to]);
    list[to].focus();
  });

  // --- the bulk bar: only while something is selected ------------------------------------
  function selection() {
    if (!bulk) return;
    var count = document.querySelectorAll('input[name="ids"][form="bulk"]:checked').length;
    bulk.hidden = count === 0;
    var label = document.getElementById("selected-count");
    if (label && count) label.textContent = count + " selected:";
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "ids" || event.target.id === "select-all") selection();
  });
  var clear = document.getElementById("bulk-clear");
  if (clear) {
    clear.hidden = false;
    clear.addEventListener("click", function () {
      var first = document.querySelector('input[name="ids"][form="bulk"]:checked');
      document.querySelectorAll('input[name="ids"][form="bulk"], #select-all').forEach(function (box) { box.checked = false; });
      selection();
      var tile = first && first.closest(".tile");
      if (tile) tile.querySelector(".thumb").focus();
    });
  }

  // --- tile size in place ---------------------------------------------------------------
  var density = document.getElementById("density");
  if (density) {
    density.addEventListener("click", function (event) {
      var link = event.target.closest("[data-density]");
      var grid = results.querySelector(".grid[data-nav-grid]");
      if (!link || !grid || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      var size = link.getAttribute("data-density");
      grid.className = grid.className.replace(/\bdensity-\w+/, "density-" + size);
      density.querySelectorAll("[data-density]").forEach(function (a) {
        if (a === link) a.setAttribute("aria-current", "true"); else a.removeAttribute("aria-current");
      });
      document.cookie = "dam_density=" + size + "; path=/; max-age=31536000; samesite=lax";
    });
  }

  // --- the toolbar's drop-downs (Filters, Upload): one open at a time; Escape closes; Filters
  // also closes on a click outside it (the upload panel stays open while its queue runs) ---
  var drops = Array.prototype.slice.call(document.querySelectorAll(".toolbar details.drop"));
  drops.forEach(function (drop) {
    drop.addEventListener("toggle", function () {
      if (drop.open) drops.forEach(function (other) { if (other !== drop) other.open = false; });
    });
    drop.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && drop.open && !document.querySelector("dialog[open]")) {
        event.preventDefault();
        drop.open = false;
        drop.querySelector("summary").focus();
      }
    });
  });
  document.addEventListener("click", function (event) {
    var filters = document.querySelector(".toolbar details.filters");
    if (filters && filters.open && !filters.contains(event.target)) filters.open = false;
  });

  function setup() {
    activate(active && document.contains(active) ? active : null);
    selection();
  }
  document.addEventListener("htmx:afterSwap", setup);
  setup();
})();
